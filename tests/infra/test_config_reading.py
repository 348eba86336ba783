"""Config read as the Pulumi CLI reads it, checked with its defaults, and refused in the
user's words (issue 24, item 5): YAML 1.2, alias limits, model-level checks, keys that
would be silently ignored, the `--path` hint; each refusal with a control."""

from __future__ import annotations

import time
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest

import pulumi_offline as offline
from infra.config.environment import EnvironmentSettings
from infra.config.messages import PATTERN_MEANINGS
from infra.config.platform import PlatformSettings
from infra.stack_file import read_stack_file
from tests.support.stack_files import accepted, candidate, refusal

LAUGHS = "".join(
    f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 10)}]\n" for level in range(1, 9)
)
ALIAS_BOMB = "l0: &l0 [lol, lol]\n" + LAUGHS  # 2 * 10^8 values once expanded

BROKEN = [
    # YAML traps
    ("dev", "config:\n  pingvas:redis: &r\n    mode: *r\n", "pingvas:redis.mode: an alias that"),
    ("dev", "config:\n  pingvas:x: &a [*a]\n", "pingvas:x[0]: an alias that contains itself"),
    ("dev", ALIAS_BOMB + "config:\n  pingvas:images: {tags: *l8}\n", "an alias bomb?"),
    ("dev", "config:\n  pingvas:x: " + "[" * 3000 + "]" * 3000 + "\n", "nested more deeply"),
    ("dev", "config:\n  pingvas:x: {d: !!timestamp 2026-01-01}\n", "is not one config values"),
    # validators that see defaults
    (
        "shared",
        "config:\n  pingvas:network:\n    availabilityZones: [us-east-1a, us-east-1b, "
        "us-east-1c, us-east-1d]\n",
        "pingvas:network.publicSubnetCidrs: lists 3 subnets for 4 availability zones: give one "
        "per zone (set publicSubnetCidrs, whose default has 3)",
    ),
    (
        "shared",
        "config:\n  pingvas:network:\n    publicSubnetCidrs: [10.0.11.0/24, 10.0.2.0/24, "
        "10.0.3.0/24]\n",
        "pingvas:network.privateSubnetCidrs[0]: 10.0.11.0/24 overlaps 10.0.11.0/24 "
        "(publicSubnetCidrs[0])",
    ),
    (
        "dev",
        "config:\n  pingvas:redis:\n    mode: replicated\n",
        "pingvas:redis.replicas: replicated mode needs at least one replica",
    ),
    # keys that would be silently ignored
    ("dev", "config:\n  pingvas:ttlHours: 48\n", "pingvas:ttlHours: only pr-<N> stacks expire"),
    (
        "dev",
        "config:\n  pingvas:redis:\n    mode: in-cluster\n"
        "    maintenanceWindow: sun:01:00-sun:02:00\n",
        "pingvas:redis.maintenanceWindow: only ElastiCache reads it, not in-cluster mode",
    ),
    ("dev", "config:\n  pulumi:disable-default-provider: [aws]\n", "not an option the Pulumi"),
    (
        "shared",
        "config:\n  pingvas:deployRoles:\n    githubRepository:\n    createOidcProvider: false\n",
        "pingvas:deployRoles.createOidcProvider: without githubRepository there are no",
    ),
    # messages in the user's words
    (
        "dev",
        "config:\n  pingvas:redis.mode: in-cluster\n",
        "pingvas:redis.mode: one key named 'redis.mode', not the path it looks like: did you "
        "forget `--path`? (`pulumi config set --path pingvas:redis.mode VALUE`",
    ),
    (
        "shared",
        "config:\n  pingvas:googleClientSecret:\n    secure: v1:abc\n",
        "pingvas:googleClientSecret: a key of an environment stack; a platform stack does not "
        "read it",
    ),
    ("dev", "config:\n  pingvas:quota: 5\n", "pingvas:quota: holds keys beneath it, not '5'"),
    (
        "dev",
        "config:\n  pingvas:quota:\n    cpu:\n",
        "pingvas:quota.cpu: should be a valid number (it is empty)\n",
    ),
    (
        "shared",
        "config:\n  pingvas:cluster.publicAccessCidrs[0]: 1.2.3.4/32\n",
        "pingvas:cluster.publicAccessCidrs[0]: one key named 'cluster.publicAccessCidrs[0]'",
    ),
    (
        "prod",
        "config:\n  pingvas:redis:\n    snapshotWindow: 2am\n",
        "pingvas:redis.snapshotWindow: '2am' is not a daily window hh:mm-hh:mm in UTC",
    ),
]


@pytest.mark.parametrize(("stack", "content", "message"), BROKEN)
def test_a_broken_file_is_refused_in_the_users_words(
    stack: str, content: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert message in refusal(tmp_path, stack, content, capsys)


def test_values_are_read_with_yaml_1_2(tmp_path: Path) -> None:
    # Under YAML 1.1 (PyYAML), NO is false and Norway could not be blocked.
    config = accepted(
        tmp_path,
        "shared",
        "config:\n  pingvas:costCenter: NO\n  pingvas:edge:\n    domain: pingvas.example.com\n"
        "    waf:\n      geoBlockCountries: [NO, RU]\n",
    )
    assert config.cost_center == "NO"
    assert config.platform is not None
    assert config.platform.edge.waf.geo_block_countries == ["NO", "RU"]
    raw, _ = read_stack_file(
        candidate(tmp_path, "dev", "config:\n  pingvas:a: on\n  pingvas:b: {c: yes, d: 1_0}\n")
    )
    assert raw == {"pingvas:a": "on", "pingvas:b": '{"c": "yes", "d": "1_0"}'}
    raw, _ = read_stack_file(
        candidate(tmp_path, "dev", "config:\n  pingvas:b: {c: true, d: 0x1f}\n")
    )
    assert raw == {"pingvas:b": '{"c": true, "d": 31}'}
    raw, _ = read_stack_file(
        candidate(tmp_path, "dev", "config:\n  pingvas:b: {c: !!str 7, d: !!int '5', e: '1'}\n")
    )
    assert raw == {"pingvas:b": '{"c": "7", "d": 5, "e": "1"}'}  # a tag or quotes decide


def test_aliases_within_limits_are_read_and_an_alias_bomb_fails_fast(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw, _ = read_stack_file(
        candidate(tmp_path, "dev", "config:\n  pingvas:a: &w {mode: x}\n  pingvas:redis: *w\n")
    )
    assert raw == {"pingvas:a": '{"mode": "x"}', "pingvas:redis": '{"mode": "x"}'}
    started = time.monotonic()
    refusal(tmp_path, "dev", ALIAS_BOMB + "config:\n  pingvas:images: {tags: *l8}\n", capsys)
    assert time.monotonic() - started < 1  # refused at 10,000 values, not expanded


def test_the_defaults_pass_their_own_checks(tmp_path: Path) -> None:
    """Controls for the model-level checks: a 4-zone network with its subnets, and
    replicated Redis with its replica."""
    accepted(
        tmp_path,
        "shared",
        "config:\n  pingvas:network:\n    availabilityZones: [us-east-1a, us-east-1b, us-east-1c,"
        " us-east-1d]\n    publicSubnetCidrs: [10.0.1.0/24, 10.0.2.0/24, 10.0.3.0/24, "
        "10.0.4.0/24]\n    privateSubnetCidrs: [10.0.11.0/24, 10.0.12.0/24, 10.0.13.0/24, "
        "10.0.14.0/24]\n",
    )
    accepted(tmp_path, "dev", "config:\n  pingvas:redis:\n    mode: replicated\n    replicas: 1\n")
    accepted(tmp_path, "pr-7", "config:\n  pingvas:ttlHours: 24\n")
    accepted(tmp_path, "dev", "config:\n  pingvas:redis:\n    mode: in-cluster\n")
    accepted(tmp_path, "dev", "config:\n  pulumi:disable-default-providers: ['*']\n")


def test_every_pattern_is_described() -> None:
    def patterns(schema: object) -> list[str]:
        if isinstance(schema, dict):
            found = [schema["pattern"]] if isinstance(schema.get("pattern"), str) else []
            return found + [p for value in schema.values() for p in patterns(value)]
        if isinstance(schema, list):
            return [p for item in schema for p in patterns(item)]
        return []

    used = patterns(PlatformSettings.model_json_schema()) + patterns(
        EnvironmentSettings.model_json_schema()
    )
    assert used
    assert set(used) <= set(PATTERN_MEANINGS)


def test_a_urn_registered_twice_fails_as_the_engine_fails() -> None:
    def program(second: str) -> None:
        provider = aws.Provider("aws", region="us-east-1")
        options = pulumi.ResourceOptions(provider=provider)
        aws.sqs.Queue("jobs", opts=options)
        aws.sqs.Queue(second, opts=options)

    def run(second: str) -> offline.OfflineRun:
        return offline.run_offline(
            project="pingvas",
            stack="dev",
            config={},
            program=lambda: program(second),
            region="us-east-1",
        )

    with pytest.raises(pulumi.RunError, match=r"Duplicate resource URN '.*::jobs'"):
        run("jobs")
    assert len(run("results").of_type("aws:sqs/queue:Queue")) == 2  # the next run is clean
