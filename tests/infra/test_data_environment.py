"""SPEC §4 data-layer facts of the environment stacks (dev, prod, pr-7): database access,
Redis, the images bucket and its CDN, the application's secrets; and that no secret
value reaches the preview."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from components.data.database_access import DatabaseAccess, DatabaseAccessArgs
from pulumi_offline import OfflineRun, RecordedResource, fake_secret
from tests.support.capture import run_capturing
from tests.support.stacks import NODE_BASED_REDIS, explicit_aws, run_stack
from tools.preview import as_json

REPO = Path(__file__).resolve().parents[2]
BUCKET = "aws:s3/bucket:Bucket"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
PASSWORD = "random:index/randomPassword:RandomPassword"
ENVIRONMENTS = ["dev", "prod", "pr-7"]


def images_bucket(run: OfflineRun) -> RecordedResource:
    (bucket,) = run.of_type(BUCKET)
    return bucket


def images_rule(run: OfflineRun) -> dict[str, Any]:
    bucket = images_bucket(run)
    (config,) = run.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    assert config.inputs["bucket"] == bucket.id
    (rule,) = config.inputs["rules"]
    assert rule["status"] == "Enabled"
    result: dict[str, Any] = rule
    return result


def secret_named(run: OfflineRun, name: str) -> RecordedResource:
    (secret,) = [s for s in run.of_type(SECRET) if s.inputs["name"] == name]
    return secret


# --- database access -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stack", "schema"),
    [("dev", "dev_pingvas"), ("prod", "prod_pingvas"), ("pr-7", "pr_7_pingvas")],
)
def test_each_environment_has_its_schema_role_and_secret(stack: str, schema: str) -> None:
    run = run_stack(stack)
    assert run.outputs["databaseSchema"] == schema
    assert run.outputs["databaseRole"] == f"{schema}_app"
    secret = secret_named(run, f"pingvas-{stack}-database")
    assert run.outputs["databaseSecretArn"].endswith(secret.id)
    (version,) = [v for v in run.of_type(SECRET_VERSION) if v.inputs["secretId"] == secret.id]
    assert version.inputs["secretString"] == "[secret]"


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_the_workers_role_has_its_own_secret_scoped_like_the_apis(stack: str) -> None:
    """Previews too: their migration hook creates the role on their own PostgreSQL."""
    run = run_stack(stack)
    schema = run.outputs["databaseSchema"]
    assert run.outputs["databaseWorkerRole"] == f"{schema}_worker"
    api = secret_named(run, f"pingvas-{stack}-database")
    worker = secret_named(run, f"pingvas-{stack}-database-worker")
    assert run.outputs["databaseWorkerSecretArn"].endswith(worker.id)
    assert worker.id != api.id
    # Same owner component, same recovery window; its name is under the environment's
    # prefix, which is all the namespace's SecretStore may read (tests/infra/test_tenancy.py).
    assert worker.parent == api.parent
    assert worker.inputs["name"].startswith(f"pingvas-{stack}-")
    assert worker.inputs["recoveryWindowInDays"] == api.inputs["recoveryWindowInDays"]
    (version,) = [v for v in run.of_type(SECRET_VERSION) if v.inputs["secretId"] == worker.id]
    assert version.inputs["secretString"] == "[secret]"


def test_database_secret_holds_writer_and_reader_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The secret's value, seen inside the program (the preview only shows '[secret]')."""

    def program() -> None:
        DatabaseAccess(
            "db",
            DatabaseAccessArgs(
                environment="pr-7",
                secret_name="pingvas-pr-7-database",
                worker_secret_name="pingvas-pr-7-database-worker",
                writer_endpoint="writer.example",
                reader_endpoint="reader.example",
                port=5432,
                database_name="pingvas_saas",
            ),
            opts=explicit_aws(),
        )

    run, versions = run_capturing(monkeypatch, SECRET_VERSION, program)
    for recorded in run.of_type(SECRET_VERSION):
        assert recorded.inputs["secretString"] == "[secret]"
    by_role = {
        document["DB_USER"]: document
        for document in (json.loads(v["secretString"]) for v in versions)
    }
    assert by_role.keys() == {"pr_7_pingvas_app", "pr_7_pingvas_worker"}
    settings = by_role["pr_7_pingvas_app"]
    password = fake_secret("db-password")
    assert settings["DB_SCHEMA"] == "pr_7_pingvas"
    assert settings["DB_USER"] == "pr_7_pingvas_app"
    assert settings["DB_PASSWORD"] == password
    assert settings["DB_HOST"] == "writer.example"
    assert "DB_READ_HOST" not in settings  # nothing reads it
    assert settings["DB_PORT"] == 5432
    # Issue 22: the migration hook's libpq parameters; the server's certificate checked.
    assert (settings["DB_SSLMODE"], settings["DB_CHANNEL_BINDING"]) == ("verify-full", "require")
    assert settings["DB_SSLROOTCERT"] == "/app/app/certs/rds-global-bundle.pem"
    assert settings["DATABASE_URL"] == (
        f"postgresql://pr_7_pingvas_app:{password}@writer.example:5432/pingvas_saas"
        "?sslmode=verify-full&sslrootcert=%2Fapp%2Fapp%2Fcerts%2Frds-global-bundle.pem"
        "&channel_binding=require&options=-csearch_path%3Dpr_7_pingvas"
    )
    assert settings["DATABASE_READ_URL"].startswith(
        f"postgresql://pr_7_pingvas_app:{password}@reader.example:5432/"
    )
    # The workers' secret: the same keys, for their own role and password.
    worker = by_role["pr_7_pingvas_worker"]
    worker_password = fake_secret("db-worker-password")
    assert worker_password != password
    assert worker.keys() == settings.keys()
    assert worker["DB_USER"] == "pr_7_pingvas_worker"
    assert worker["DB_PASSWORD"] == worker_password
    assert worker["DB_SCHEMA"] == "pr_7_pingvas"
    assert worker["DATABASE_URL"] == (
        f"postgresql://pr_7_pingvas_worker:{worker_password}@writer.example:5432/pingvas_saas"
        "?sslmode=verify-full&sslrootcert=%2Fapp%2Fapp%2Fcerts%2Frds-global-bundle.pem"
        "&channel_binding=require&options=-csearch_path%3Dpr_7_pingvas"
    )


# --- Redis -----------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "retention"), [("dev", 1), ("prod", 7)])
def test_dev_and_prod_redis_are_serverless_valkey_by_default(
    stack: str, retention: int, shared: OfflineRun
) -> None:
    """Decision 0117: ElastiCache Serverless keeps the data in three zones with no node
    to fail over (SPEC §4's availability without a replica), at the platform's private
    subnets behind the environment's own security group, TLS and AUTH always."""
    run = run_stack(stack)
    assert run.of_type(REPLICATION_GROUP) == []
    (cache,) = run.of_type("aws:elasticache/serverlessCache:ServerlessCache")
    inputs = cache.inputs
    assert inputs["name"] == f"pingvas-{stack}-redis"
    assert (inputs["engine"], inputs["majorEngineVersion"]) == ("valkey", "8")
    assert inputs["subnetIds"] == shared.outputs["privateSubnetIds"]
    assert inputs["securityGroupIds"] == [shared.outputs["securityGroupIds"][f"redis-{stack}"]]
    assert inputs["snapshotRetentionLimit"] == retention  # SPEC §9: daily snapshots
    assert inputs["dailySnapshotTime"] == "02:00"
    assert run.outputs["redisMode"] == "serverless"
    assert run.outputs["redisHost"].endswith(".serverless.use1.cache.amazonaws.com")
    assert (run.outputs["redisPort"], run.outputs["redisTls"]) == (6379, True)
    assert "redisReaderHost" not in run.outputs  # one endpoint; reads go to the primary
    secret = secret_named(run, f"pingvas-{stack}-redis")
    assert run.outputs["redisSecretArn"].startswith(
        f"arn:aws:secretsmanager:us-east-1:123456789012:secret:pingvas-{stack}-redis"
    )
    (version,) = [v for v in run.of_type(SECRET_VERSION) if v.inputs["secretId"] == secret.id]
    assert version.inputs["secretString"] == "[secret]"


def test_dev_redis_may_be_one_standalone_valkey_t4g_small_with_auth(
    shared: OfflineRun, stack_with: Callable[..., OfflineRun]
) -> None:
    """The node-based path, chosen explicitly (decision 0100's size)."""
    run = stack_with("dev", NODE_BASED_REDIS["dev"])
    (group,) = run.of_type(REPLICATION_GROUP)
    inputs = group.inputs
    assert inputs["replicationGroupId"] == "pingvas-dev-redis"
    assert (inputs["engine"], inputs["nodeType"]) == ("valkey", "cache.t4g.small")
    assert inputs["numCacheClusters"] == 1
    assert inputs["preferredCacheClusterAzs"] == ["us-east-1a"]  # SPEC §4
    assert inputs["automaticFailoverEnabled"] is False
    assert inputs["multiAzEnabled"] is False
    # Issue 22: previews reached dev's Redis, which wanted no AUTH; now every group does.
    assert inputs["authToken"] == "[secret]"
    assert inputs["transitEncryptionMode"] == "required"
    assert inputs["transitEncryptionEnabled"] is True
    assert inputs["atRestEncryptionEnabled"] is True
    assert inputs["port"] == 6379
    assert inputs["securityGroupIds"] == [shared.outputs["securityGroupIds"]["redis-dev"]]
    assert run.outputs["redisMode"] == "standalone"
    assert run.outputs["redisHost"].startswith("master.")
    assert (run.outputs["redisPort"], run.outputs["redisTls"]) == (6379, True)
    assert "redisReaderHost" not in run.outputs
    assert run.outputs["redisSecretArn"].startswith("arn:aws:secretsmanager:")


def test_prod_redis_may_be_a_replicated_group_with_failover_tls_and_auth(
    shared: OfflineRun, stack_with: Callable[..., OfflineRun]
) -> None:
    """The node-based path, chosen explicitly: primary + replica, Multi-AZ failover."""
    run = stack_with("prod", NODE_BASED_REDIS["prod"])
    (group,) = run.of_type(REPLICATION_GROUP)
    inputs = group.inputs
    assert inputs["replicationGroupId"] == "pingvas-prod-redis"
    assert inputs["engine"] == "valkey"
    assert inputs["nodeType"] == "cache.t4g.medium"
    assert inputs["numCacheClusters"] == 2  # primary + a replica in another zone
    assert inputs["preferredCacheClusterAzs"] == ["us-east-1a", "us-east-1b"]
    assert inputs["automaticFailoverEnabled"] is True
    assert inputs["multiAzEnabled"] is True
    assert inputs["transitEncryptionEnabled"] is True
    assert inputs["transitEncryptionMode"] == "required"
    assert inputs["authToken"] == "[secret]"
    assert inputs["atRestEncryptionEnabled"] is True
    assert inputs["snapshotRetentionLimit"] == 7  # SPEC §9: daily, 7 days
    assert inputs["snapshotWindow"] == "02:00-03:00"
    assert inputs["maintenanceWindow"] == "sun:06:00-sun:07:00"
    assert inputs["finalSnapshotIdentifier"] == "pingvas-prod-redis-final"
    assert inputs["securityGroupIds"] == [shared.outputs["securityGroupIds"]["redis-prod"]]
    (subnets,) = run.of_type("aws:elasticache/subnetGroup:SubnetGroup")
    assert inputs["subnetGroupName"] == subnets.inputs["name"]
    assert subnets.inputs["subnetIds"] == shared.outputs["privateSubnetIds"]

    assert run.outputs["redisHost"].startswith("master.")
    assert run.outputs["redisReaderHost"].startswith("replica.")
    assert (run.outputs["redisPort"], run.outputs["redisTls"]) == (6379, True)
    secret = secret_named(run, "pingvas-prod-redis")
    (version,) = [v for v in run.of_type(SECRET_VERSION) if v.inputs["secretId"] == secret.id]
    assert version.inputs["secretString"] == "[secret]"


def test_redis_engine_may_be_valkey(stack_with: Callable[..., OfflineRun]) -> None:
    run = stack_with("prod", NODE_BASED_REDIS["prod"])
    (group,) = run.of_type(REPLICATION_GROUP)
    assert (group.inputs["engine"], group.inputs["engineVersion"]) == ("valkey", "8.0")


def test_ephemeral_stack_runs_redis_in_its_namespace() -> None:
    run = run_stack("pr-7")
    assert run.outputs["redisMode"] == "in-cluster"
    assert run.of_type(REPLICATION_GROUP) == []
    stateful_set = run.one("kubernetes:apps/v1:StatefulSet", "pingvas-pr-7-redis-statefulset")
    (namespace,) = run.of_type("kubernetes:core/v1:Namespace")
    assert stateful_set.inputs["metadata"]["namespace"] == namespace.inputs["metadata"]["name"]
    assert run.outputs["redisHost"] == "redis.pr-7.svc.cluster.local"
    assert (run.outputs["redisPort"], run.outputs["redisTls"]) == (6379, False)
    assert run.outputs["redisKubernetesSecret"] == "redis"
    assert "redisSecretArn" not in run.outputs


# --- images bucket and CDN -------------------------------------------------------------


def test_dev_images_move_to_ia_after_90_days() -> None:
    rule = images_rule(run_stack("dev"))
    assert rule["transitions"] == [{"days": 90, "storageClass": "STANDARD_IA"}]
    assert "expiration" not in rule


def test_prod_images_move_to_ia_at_90_and_glacier_at_180_days() -> None:
    rule = images_rule(run_stack("prod"))
    assert rule["transitions"] == [
        {"days": 90, "storageClass": "STANDARD_IA"},
        {"days": 180, "storageClass": "GLACIER_IR"},
    ]
    assert "expiration" not in rule


def test_ephemeral_images_expire_soon_and_the_bucket_may_be_destroyed() -> None:
    run = run_stack("pr-7")
    rule = images_rule(run)
    assert rule["expiration"] == {"days": 7}
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 1}
    assert "transitions" not in rule
    assert images_bucket(run).inputs["forceDestroy"] is True
    assert images_bucket(run_stack("dev")).inputs["forceDestroy"] is False


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_images_bucket_is_private_versioned_encrypted(stack: str) -> None:
    run = run_stack(stack)
    bucket = images_bucket(run)
    assert bucket.inputs["bucket"].startswith(f"pingvas-{stack}-images-")
    assert run.outputs["imagesBucketName"] == bucket.inputs["bucket"]

    def one(resource_type: str) -> dict[str, Any]:
        (resource,) = [r for r in run.of_type(resource_type) if r.inputs["bucket"] == bucket.id]
        return resource.inputs

    block = one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls"):
        assert block[flag] is True
    assert block["restrictPublicBuckets"] is True
    ownership = one("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    versioning = one("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning["versioningConfiguration"] == {"status": "Enabled"}
    encryption = one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert encryption["rules"][0]["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "AES256"
    }
    rule = images_rule(run)
    assert rule["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}


@pytest.mark.parametrize("stack", ["dev", "prod"])  # pr-<N> has no CDN (test_ephemeral.py)
def test_cdn_reads_only_images_through_origin_access_control(stack: str) -> None:
    run = run_stack(stack)
    bucket = images_bucket(run)
    (distribution,) = run.of_type(DISTRIBUTION)
    (access_control,) = run.of_type("aws:cloudfront/originAccessControl:OriginAccessControl")
    assert access_control.inputs["originAccessControlOriginType"] == "s3"
    assert access_control.inputs["signingBehavior"] == "always"
    assert access_control.inputs["signingProtocol"] == "sigv4"

    inputs = distribution.inputs
    (origin,) = inputs["origins"]
    assert origin["domainName"] == f"{bucket.inputs['bucket']}.s3.us-east-1.amazonaws.com"
    assert origin["originAccessControlId"] == access_control.id
    (images,) = inputs["orderedCacheBehaviors"]
    assert images["pathPattern"] == "/images/*"
    for behavior in (images, inputs["defaultCacheBehavior"]):
        assert behavior["viewerProtocolPolicy"] == "https-only"
        assert behavior["compress"] is True
        assert behavior["allowedMethods"] == ["GET", "HEAD"]
        assert behavior["targetOriginId"] == origin["originId"]
    assert inputs["priceClass"] == "PriceClass_100"
    assert inputs["aliases"] == [run.outputs["edge"]["imagesHostname"]]
    assert (
        inputs["viewerCertificate"]["acmCertificateArn"] == run.outputs["edge"]["cdnCertificateArn"]
    )
    assert run.outputs["cdnDomainName"] == f"{distribution.id}.cloudfront.net"

    # The bucket allows only this distribution, only under images/, and only over TLS.
    (policy,) = run.of_type("aws:s3/bucketPolicy:BucketPolicy")
    assert policy.inputs["bucket"] == bucket.id
    deny, allow = json.loads(policy.inputs["policy"])["Statement"]
    bucket_arn = f"arn:aws:s3:::{bucket.inputs['bucket']}"
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == [bucket_arn, f"{bucket_arn}/*"]
    assert allow["Effect"] == "Allow"
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    assert allow["Resource"] == f"{bucket_arn}/images/*"
    assert allow["Condition"] == {
        "StringEquals": {
            "AWS:SourceArn": f"arn:aws:cloudfront::123456789012:distribution/{distribution.id}"
        }
    }


def test_cdn_alias_uses_the_edge_certificate(stack_with: Callable[..., OfflineRun]) -> None:
    run = stack_with("prod", {"pingvas:cdn": {"priceClass": "PriceClass_All"}})
    (distribution,) = run.of_type(DISTRIBUTION)
    edge = run.outputs["edge"]
    assert distribution.inputs["aliases"] == [edge["imagesHostname"]]
    assert distribution.inputs["priceClass"] == "PriceClass_All"
    assert distribution.inputs["viewerCertificate"] == {
        "acmCertificateArn": edge["cdnCertificateArn"],
        "sslSupportMethod": "sni-only",
        "minimumProtocolVersion": "TLSv1.2_2021",
    }


# --- application secrets ---------------------------------------------------------------

APP_VARIABLES = {
    "JWT_SECRET",
    "SESSION_SECRET",
    "LEMONSQUEEZY_API_KEY",
    "LEMONSQUEEZY_WEBHOOK_SECRET",
    "GOOGLE_CLIENT_SECRET",
    "DISCORD_CLIENT_SECRET",
}


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_app_secrets_live_in_secrets_manager(stack: str) -> None:
    run = run_stack(stack)
    arns = run.outputs["appSecretArns"]
    # The CDN's URL-signing key (tests/infra/test_cdn_signing.py); pr-<N> has no CDN, and
    # no secret nobody gives it (test_every_secret_a_preview_reads_has_a_value).
    variables = (
        APP_VARIABLES | {"CLOUDFRONT_PRIVATE_KEY"}
        if stack != "pr-7"
        else {"JWT_SECRET", "SESSION_SECRET"}
    )
    assert set(arns) == variables
    for variable in variables:
        secret = secret_named(run, f"pingvas-{stack}-{variable.lower().replace('_', '-')}")
        assert secret.inputs["recoveryWindowInDays"] == (0 if stack == "pr-7" else 7)
    generated = {
        p.name for p in run.of_type(PASSWORD) if p.name.startswith(f"pingvas-{stack}-secrets-")
    }
    assert generated == {
        f"pingvas-{stack}-secrets-jwt-secret",
        f"pingvas-{stack}-secrets-session-secret",
    }
    for password in run.of_type(PASSWORD):
        assert password.inputs["length"] >= 32
    for version in run.of_type(SECRET_VERSION):
        assert version.inputs["secretString"] == "[secret]"


def test_supplied_secrets_come_from_config_and_stay_secret(
    stack_with: Callable[..., OfflineRun],
) -> None:
    run = stack_with(
        "dev",
        {
            # Plain text is refused (tests/infra/test_config_guards.py): both are secure.
            "pingvas:lemonSqueezyApiKey": {"secure": "v1:ls-live-do-not-print-me"},
            "pingvas:discordClientSecret": {"secure": "v1:AAAAencrypted"},
        },
    )
    secret_ids = {
        secret_named(run, f"pingvas-dev-{name}").id
        for name in ("lemonsqueezy-api-key", "discord-client-secret")
    }
    versions = [v for v in run.of_type(SECRET_VERSION) if v.inputs["secretId"] in secret_ids]
    assert len(versions) == 2
    assert all(v.inputs["secretString"] == "[secret]" for v in versions)
    document = json.dumps({"resources": [r.as_json() for r in run.resources], **run.outputs})
    assert "ls-live-do-not-print-me" not in document
    assert "lemonSqueezyApiKey" not in json.dumps(run.outputs["settings"])
    # Unsupplied values get an empty secret for an operator to fill in.
    google = secret_named(run, "pingvas-dev-google-client-secret")
    assert not [v for v in run.of_type(SECRET_VERSION) if v.inputs["secretId"] == google.id]


def test_every_secret_a_preview_reads_has_a_value(
    stack_with: Callable[..., OfflineRun],
) -> None:
    # External Secrets cannot sync a secret without a value, and one missing key leaves the
    # pods without their Secret: a preview reads only secrets this stack fills.
    configured = {"pingvas:discordClientSecret": {"secure": "v1:AAAAencrypted"}}
    for run in (run_stack("pr-7"), stack_with("pr-7", configured)):
        read = run.outputs["appSecretArns"]  # what the chart's ExternalSecret lists
        filled = {v.inputs["secretId"] for v in run.of_type(SECRET_VERSION)}
        for variable, arn in read.items():
            (secret,) = [s for s in run.of_type(SECRET) if f":secret:{s.inputs['name']}-" in arn]
            assert secret.id in filled, f"{variable}: {secret.inputs['name']} has no value"
    assert "DISCORD_CLIENT_SECRET" in run.outputs["appSecretArns"]  # configured: created
    # A long-lived environment keeps an empty secret for an operator to fill (the app
    # waits for it); a preview would wait forever.
    assert "DISCORD_CLIENT_SECRET" in run_stack("dev").outputs["appSecretArns"]


@pytest.mark.parametrize("stack", ["shared", *ENVIRONMENTS])
def test_no_generated_secret_appears_in_the_preview(stack: str) -> None:
    run = run_stack(stack)
    document = json.dumps(as_json(run))  # what `python -m tools.preview STACK --json` prints
    passwords = run.of_type(PASSWORD)
    if stack != "shared":
        assert passwords
    for password in passwords:
        assert fake_secret(password.name) not in document
    assert "offline-secret-" not in document


def test_json_preview_command_prints_no_secret() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.preview", "prod", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    (user,) = [r for r in document["resources"] if r["type"] == "aws:elasticache/user:User"]
    assert user["inputs"]["authenticationMode"] == "[secret]"
    assert "offline-secret-" not in result.stdout
