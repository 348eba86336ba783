"""Stack files that a real `pulumi up` would send past AWS's own limits are refused before
anything is registered, naming the key (issue 24, item 3); each class has a control
that AWS accepts. The limits come from botocore's models and documentation where AWS
publishes them there (infra/aws_limits.py, infra/aws_schedules.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.loaders import Loader

from infra import aws_limits, aws_schedules
from tests.support.stack_files import accepted, refusal

NETWORK = "config:\n  pingvas:network:\n"
AURORA = "config:\n  pingvas:aurora:\n"
# A node-based cache: dev and prod default to Serverless, which has no windows or versions.
REDIS = "config:\n  pingvas:redis:\n    mode: replicated\n    replicas: 1\n"
STORE = "config:\n  pingvas:modelStore:\n    backupSchedule: '{}'\n"
LONG_LABEL = "a" * 63

BROKEN = [
    # VPC and subnet sizes
    ("shared", NETWORK + "    cidr: 10.0.0.0/8\n", "pingvas:network.cidr: 10.0.0.0/8 is a /8; AWS"),
    (
        "shared",
        NETWORK + "    publicSubnetCidrs: [10.0.1.0/29, 10.0.2.0/24, 10.0.3.0/24]\n",
        "pingvas:network.publicSubnetCidrs[0]: 10.0.1.0/29 is a /29; AWS allows a VPC or "
        "subnet from /16 to /28",
    ),
    # zones of the region
    (
        "shared",
        NETWORK + "    availabilityZones: [us-east-1a, us-east-1b, us-east-1g]\n",
        "pingvas:network.availabilityZones[2]: 'us-east-1g' is not an availability zone of "
        "us-east-1 (aws:region): it has us-east-1a to us-east-1f",
    ),
    (
        "shared",
        "config:\n  aws:region: eu-west-1\n  pingvas:network:\n"
        "    availabilityZones: [eu-west-1a, eu-west-1d]\n",
        "'eu-west-1d' is not an availability zone of eu-west-1",
    ),
    # DNS's and ACM's name lengths
    (
        "shared",
        f"config:\n  pingvas:edge:\n    domain: {'.'.join([LONG_LABEL] * 4)}.com\n",
        "pingvas:edge.domain: '" + LONG_LABEL,  # 259 characters: past DNS's 253
    ),
    (
        "shared",
        f"config:\n  pingvas:edge:\n    domain: {'b' * 43}.example.com\n",
        "pingvas:edge.domain: dev's images hostname 'images.dev.bbbb",  # 66 characters
    ),
    # windows
    (
        "shared",
        AURORA + "    backupWindow: '04:00-05:00'\n",
        "pingvas:aurora.backupWindow: 04:00-05:00 overlaps maintenanceWindow "
        "(sun:04:30-sun:05:30); RDS refuses",
    ),
    (
        "shared",
        AURORA + "    backupWindow: '03:00-03:15'\n",
        "pingvas:aurora.backupWindow: is 15 minutes; AWS needs a window of at least 30",
    ),
    (
        "prod",
        REDIS + "    snapshotWindow: '23:30-06:30'\n",
        "pingvas:redis.snapshotWindow: 23:30-06:30 overlaps maintenanceWindow "
        "(sun:06:00-sun:07:00)",
    ),
    (
        "prod",
        REDIS + "    maintenanceWindow: sun:06:00-sun:06:30\n",
        "pingvas:redis.maintenanceWindow: is 30 minutes; AWS needs a maintenance window of at "
        "least 60",
    ),
    # schedule expressions
    ("shared", STORE.format("cron(0 5 * * SUN *)"), "needs `?` in exactly one of day-of-month"),
    ("shared", STORE.format("cron(*/15 * ? * * *)"), "runs more than once an hour"),
    ("shared", STORE.format("cron(0 25 ? * SUN *)"), "hours '25' is not 0-23"),
    ("shared", STORE.format("cron(0 5 ? * SUN)"), "has 5 fields; AWS's cron has six"),
    ("shared", STORE.format("rate(1 day)"), "pingvas:modelStore.backupSchedule: 'rate(1 day)'"),
    # lifecycle: expiry before transition (the dev profile moves images on day 90)
    (
        "dev",
        "config:\n  pingvas:images:\n    expireAfterDays: 30\n",
        "pingvas:images.expireAfterDays: 30 expires images before they move (iaAfterDays: day 90)",
    ),
    # tag characters
    (
        "dev",
        "config:\n  pingvas:costCenter: 'eng;ops<1>'\n",
        "pingvas:costCenter: 'eng;ops<1>' becomes a tag value, which AWS limits to 256 letters, "
        "digits, spaces and '_.:/=+-@' (refused: ';<>')",
    ),
    # engine versions and what they can do
    (
        "shared",
        AURORA + "    engineVersion: '16.99'\n",
        "pingvas:aurora.engineVersion: 16.99 is not an Aurora PostgreSQL version with "
        "Serverless v2 (13.6-13.21",
    ),
    (
        "shared",
        AURORA + "    engineVersion: '16.2'\n    minCapacity: 0\n    secondsUntilAutoPause: 600\n",
        "pingvas:aurora.engineVersion: 16.2 cannot auto-pause (minCapacity 0); it needs 16.3",
    ),
    (
        "prod",
        REDIS + "    engineVersion: '6.2'\n",
        "pingvas:redis.engineVersion: valkey 6.2 is not offered by ElastiCache (7.2, 8.0, 8.1)",
    ),
    # a region in another partition
    (
        "shared",
        "config:\n  aws:region: cn-north-1\n",
        "aws:region: 'cn-north-1' is in the aws-cn partition",
    ),
    ("shared", "config:\n  aws:region: us-gov-west-1\n", "in the aws-us-gov partition"),
]

CONTROLS = [
    ("shared", NETWORK + "    cidr: 10.0.0.0/16\n"),
    ("shared", NETWORK + "    publicSubnetCidrs: [10.0.1.0/28, 10.0.2.0/24, 10.0.3.0/24]\n"),
    ("shared", NETWORK + "    availabilityZones: [us-east-1d, us-east-1e, us-east-1f]\n"),
    (
        "shared",
        f"config:\n  pingvas:edge:\n    domain: {'b' * 40}.example.com\n",
    ),  # 63 with images.dev.
    (
        "shared",
        AURORA + "    backupWindow: '03:00-04:30'\n    maintenanceWindow: sun:04:30-sun:05:00\n",
    ),
    ("prod", REDIS + "    snapshotWindow: '23:30-05:59'\n"),
    ("shared", STORE.format("cron(15 */6 ? * MON-FRI *)")),
    ("shared", STORE.format("cron(0 12 1 * ? 2027)")),
    ("dev", "config:\n  pingvas:images:\n    expireAfterDays: 91\n"),
    ("dev", "config:\n  pingvas:costCenter: 'Engineering / GPU: Zürich @1'\n"),
    (
        "shared",
        AURORA + "    engineVersion: '16.3'\n    minCapacity: 0\n    secondsUntilAutoPause: 600\n",
    ),
    ("prod", REDIS + "    engine: redis\n    engineVersion: '7.1'\n"),
    ("shared", "config:\n  aws:region: eu-central-1\n"),
]


@pytest.mark.parametrize(("stack", "content", "message"), BROKEN)
def test_past_an_aws_limit_is_refused_naming_the_key(
    stack: str, content: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert message in refusal(tmp_path, stack, content, capsys)


@pytest.mark.parametrize(("stack", "content"), CONTROLS)
def test_within_aws_limits_is_accepted(stack: str, content: str, tmp_path: Path) -> None:
    accepted(tmp_path, stack, content)


def test_the_limits_are_botocores() -> None:
    loader = Loader()
    acm = loader.load_service_model("acm", "service-2")["shapes"]
    assert aws_limits.DOMAIN_MAX == acm["DomainNameString"]["max"] == 253
    assert aws_limits.CERTIFICATE_NAME_MAX == 64  # read from RequestCertificate's docs
    tags = loader.load_service_model("resource-groups", "service-2")["shapes"]
    assert tags["TagValue"]["max"] == aws_limits.TAG_VALUE_MAX
    assert aws_limits.PARTITIONS["us-east-1"] == "aws"
    assert aws_schedules.RDS_BACKUP_WINDOW_MIN == aws_schedules.RDS_MAINTENANCE_WINDOW_MIN == 30
    assert aws_schedules.CACHE_MAINTENANCE_WINDOW_MIN == 60


def test_a_reworded_botocore_document_stops_the_check_not_guesses() -> None:
    with pytest.raises(LookupError, match="no longer says"):
        aws_limits.documented("acm", "RequestCertificateRequest", "DomainName", r"at most (\d+)")


def test_windows_that_wrap_midnight_and_the_week() -> None:
    assert aws_schedules.overlap("23:30-00:30", "mon:00:00-mon:01:00")  # Sunday night's backup
    assert aws_schedules.overlap("02:00-03:00", "sun:23:30-mon:02:30")  # over the week's end
    assert not aws_schedules.overlap("03:00-04:00", "sun:04:00-sun:05:00")  # they only touch


def test_every_certificate_the_stacks_request_fits_acm(tmp_path: Path) -> None:
    """The hostnames the config check measures are those the stacks certify."""
    from infra.config_checks import CERTIFIED_SERVICES
    from tools.preview import preview_stack

    # dev's API certificate is the platform's (with its ingress class), the rest dev's own.
    names = [
        r.inputs["domainName"]
        for stack in ("shared", "dev")
        for r in preview_stack(stack).of_type("aws:acm/certificate:Certificate")
        if r.inputs["domainName"].split(".")[1:2] == ["dev"]
    ]
    assert sorted(name.split(".")[0] for name in names) == sorted(CERTIFIED_SERVICES)
    assert all(len(name) <= aws_limits.CERTIFICATE_NAME_MAX for name in names)
