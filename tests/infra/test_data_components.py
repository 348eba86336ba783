"""Data-layer components on their own: in-cluster Redis (wired by the cluster issue),
the bucket's options, argument checks, and the config keys that drive them."""

from __future__ import annotations

import json
import ssl
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
import redis

from components.data.bucket import Bucket, BucketArgs, LifecycleRule
from components.data.in_cluster_redis import InClusterRedis, InClusterRedisArgs
from components.data.managed_redis import ManagedRedis, ManagedRedisArgs, ManagedRedisMode
from components.data.redis import TLS_QUERY
from infra.config import ConfigError, RedisMode, load_stack_config
from pulumi_offline import OfflineRun, fake_secret, run_offline
from tests.support.capture import run_capturing
from tests.support.stacks import explicit_aws

STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
K8S_SECRET = "kubernetes:core/v1:Secret"


def in_cluster_redis(engine: str = "redis") -> None:
    provider = k8s.Provider("k8s", kubeconfig="{}")
    redis = InClusterRedis(
        "pingvas-pr-7-redis",
        InClusterRedisArgs(engine=engine, namespace="pr-7"),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )
    endpoint = redis.endpoint
    pulumi.export("address", endpoint.address)
    pulumi.export("tls", endpoint.tls)
    pulumi.export("auth", endpoint.auth)
    pulumi.export("secretName", endpoint.credentials.kubernetes_secret_name)


def test_in_cluster_redis_runs_one_persistent_pod_in_the_namespace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run, secrets = run_capturing(monkeypatch, K8S_SECRET, in_cluster_redis, stack="pr-7")
    (provider,) = run.of_type("pulumi:providers:kubernetes")
    (stateful_set,) = run.of_type(STATEFUL_SET)
    (service,) = run.of_type("kubernetes:core/v1:Service")
    (secret,) = run.of_type(K8S_SECRET)
    for resource in (stateful_set, service, secret):
        assert resource.inputs["metadata"]["namespace"] == "pr-7"
        assert run.provider_of(resource).urn == provider.urn

    spec = stateful_set.inputs["spec"]
    assert spec["replicas"] == 1
    (container,) = spec["template"]["spec"]["containers"]
    assert container["image"] == "redis:7.2.7-alpine"
    assert container["command"] == ["redis-server"]
    arguments = container["args"]
    assert arguments[arguments.index("--appendonly") + 1] == "yes"
    assert arguments[arguments.index("--requirepass") + 1] == "$(REDIS_PASSWORD)"
    (env,) = container["env"]
    assert env["valueFrom"]["secretKeyRef"] == {"name": "redis", "key": "REDIS_PASSWORD"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert spec["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    (claim,) = spec["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"] == {"storage": "1Gi"}
    assert container["volumeMounts"] == [{"name": "data", "mountPath": "/data"}]
    assert service.inputs["spec"]["ports"][0]["port"] == 6379

    # The endpoint carries no credentials; the Kubernetes Secret does, and stays secret.
    assert run.outputs == {
        "address": "redis.pr-7.svc.cluster.local:6379",
        "tls": False,
        "auth": True,
        "secretName": "redis",
    }
    assert secret.inputs["stringData"] == "[secret]"
    (values,) = secrets
    password = fake_secret("pingvas-pr-7-redis-password")
    assert values["stringData"] == {
        "REDIS_PASSWORD": password,
        "REDIS_URL": f"redis://:{password}@redis.pr-7.svc.cluster.local:6379/0",
    }
    assert password not in json.dumps([r.as_json() for r in run.resources])


def test_in_cluster_valkey_uses_the_valkey_server() -> None:
    run = run_offline(
        project="pingvas",
        stack="pr-7",
        config={},
        region="us-east-1",
        program=lambda: in_cluster_redis("valkey"),
    )
    (stateful_set,) = run.of_type(STATEFUL_SET)
    (container,) = stateful_set.inputs["spec"]["template"]["spec"]["containers"]
    assert container["image"].startswith("valkey/valkey:8.0")
    assert container["command"] == ["valkey-server"]


def test_replicated_redis_secret_holds_the_auth_token_and_the_url_with_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def program() -> None:
        ManagedRedis(
            "pingvas-prod-redis",
            ManagedRedisArgs(
                mode=ManagedRedisMode.REPLICATED,
                replicas=2,
                node_type="cache.r6g.large",
                replication_group_id="pingvas-prod-redis",
                secret_name="pingvas-prod-redis",
                subnet_ids=["subnet-a", "subnet-b", "subnet-c"],
                security_group_id="sg-redis",
                availability_zones=["us-east-1a", "us-east-1b", "us-east-1c"],
            ),
            opts=explicit_aws(),
        )

    run, versions = run_capturing(
        monkeypatch, "aws:secretsmanager/secretVersion:SecretVersion", program
    )
    token = fake_secret("pingvas-prod-redis-auth")
    (version,) = versions
    (group,) = run.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    host = f"master.{group.id}.offline.use1.cache.amazonaws.com"
    # The primary only: the app neither reads nor writes through the replicas.
    assert json.loads(version["secretString"]) == {
        "REDIS_URL": f"rediss://:{token}@{host}:6379/0?{TLS_QUERY}",
        "REDIS_PASSWORD": token,
    }
    assert token not in json.dumps([r.as_json() for r in run.resources])


def test_standalone_redis_wants_auth_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 22: dev's standalone group had no AUTH, so any pod reaching it could read
    the queue. Every mode now sets a token and writes it into the URL."""

    def program() -> None:
        ManagedRedis(
            "pingvas-dev-redis",
            ManagedRedisArgs(
                mode=ManagedRedisMode.STANDALONE,
                **{**MANAGED, "availability_zones": ["us-east-1a"]},
            ),
            opts=explicit_aws(),
        )

    run, versions = run_capturing(
        monkeypatch, "aws:secretsmanager/secretVersion:SecretVersion", program
    )
    (group,) = run.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    assert group.inputs["authToken"] == "[secret]"
    assert group.inputs["transitEncryptionMode"] == "required"
    (version,) = versions
    settings = json.loads(version["secretString"])
    token = fake_secret("pingvas-dev-redis-auth")
    assert settings["REDIS_PASSWORD"] == token
    assert settings["REDIS_URL"].startswith(f"rediss://:{token}@")


def test_the_managed_redis_url_makes_redis_py_check_the_certificate_and_host() -> None:
    """What redis-py makes of the URL the secret holds (control), and of the same URL
    with the checks switched off (attack: what a client that trusted anything would get)."""
    url = "rediss://:t@master.x.use1.cache.amazonaws.com:6379/0"
    checked = redis.Redis.from_url(f"{url}?{TLS_QUERY}").connection_pool
    assert checked.connection_class is redis.SSLConnection
    connection = checked.make_connection()
    assert isinstance(connection, redis.SSLConnection)
    assert (connection.cert_reqs, connection.check_hostname) == (ssl.CERT_REQUIRED, True)
    unchecked = redis.Redis.from_url(f"{url}?ssl_cert_reqs=none").connection_pool
    connection = unchecked.make_connection()
    assert isinstance(connection, redis.SSLConnection)
    assert (connection.cert_reqs, connection.check_hostname) == (ssl.CERT_NONE, False)


MANAGED: dict[str, Any] = {
    "replication_group_id": "r",
    "secret_name": "r",
    "subnet_ids": [],
    "security_group_id": "sg",
    "availability_zones": [],
}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {**MANAGED, "mode": ManagedRedisMode.STANDALONE, "replicas": 1},
            "standalone mode has no replicas",
        ),
        (
            {**MANAGED, "mode": ManagedRedisMode.REPLICATED},
            "replicated mode needs at least one replica",
        ),
        (
            {**MANAGED, "mode": ManagedRedisMode.STANDALONE, "engine": "memcached"},
            "neither redis nor valkey",
        ),
    ],
)
def test_redis_args_are_checked(args: dict[str, Any], message: str) -> None:
    def program() -> None:
        ManagedRedis("r", ManagedRedisArgs(**args))

    with pytest.raises(Exception, match=message):
        run_offline(project="pingvas", stack="t", config={}, region="us-east-1", program=program)


def test_in_cluster_redis_checks_its_engine() -> None:
    def program() -> None:
        provider = k8s.Provider("k8s", kubeconfig="{}")
        InClusterRedis(
            "r",
            InClusterRedisArgs(namespace="n", engine="memcached"),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )

    with pytest.raises(Exception, match="neither redis nor valkey"):
        run_offline(project="pingvas", stack="t", config={}, region="us-east-1", program=program)


def bucket_run(args: BucketArgs) -> OfflineRun:
    def program() -> None:
        Bucket("b", args, opts=explicit_aws())

    return run_offline(
        project="pingvas",
        stack="t",
        config={},
        region="us-east-1",
        program=program,
    )


def test_bucket_with_a_kms_key_and_no_versioning() -> None:
    run = bucket_run(
        BucketArgs(
            bucket_name="pingvas-t-b-12345678",
            versioning=False,
            kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/k",
            lifecycle_rules=[LifecycleRule(id="tmp", prefix="tmp/", expire_after_days=1)],
        )
    )
    assert run.of_type("aws:s3/bucketVersioning:BucketVersioning") == []
    (encryption,) = run.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    (rule,) = encryption.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": "arn:aws:kms:us-east-1:123456789012:key/k",
    }
    assert rule["bucketKeyEnabled"] is True
    (lifecycle,) = run.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    (lifecycle_rule,) = lifecycle.inputs["rules"]
    assert lifecycle_rule["filter"] == {"prefix": "tmp/"}
    assert lifecycle_rule["expiration"] == {"days": 1}
    assert "noncurrentVersionExpiration" not in lifecycle_rule  # nothing is noncurrent
    (policy,) = run.of_type("aws:s3/bucketPolicy:BucketPolicy")
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Sid"] == "DenyInsecureTransport"


def test_bucket_rule_ids_must_be_distinct() -> None:
    rules = [LifecycleRule(id="same"), LifecycleRule(id="same")]
    with pytest.raises(Exception, match="lifecycle rule ids must be distinct"):
        bucket_run(BucketArgs(bucket_name="b", lifecycle_rules=rules))


def raw(**values: object) -> dict[str, str]:
    return {f"pingvas:{key}": json.dumps(value) for key, value in values.items()}


@pytest.mark.parametrize(
    ("stack", "values", "message"),
    [
        (
            "shared",
            raw(aurora={"minCapacity": 2, "maxCapacity": 1}),
            "pingvas:aurora.maxCapacity: must be at least minCapacity (2.0)",
        ),
        (
            "shared",
            raw(aurora={"minCapacity": 0.7}),
            "pingvas:aurora.minCapacity: should be a multiple of 0.5",
        ),
        (
            "shared",
            raw(aurora={"secondsUntilAutoPause": 600}),
            "pingvas:aurora.secondsUntilAutoPause: only a cluster with minCapacity 0 pauses",
        ),
        (
            "shared",
            raw(aurora={"backupRetentionDays": 40}),
            "pingvas:aurora.backupRetentionDays: should be less than or equal to 35",
        ),
        (
            "shared",
            raw(aurora={"backupWindow": "3am"}),
            "pingvas:aurora.backupWindow: '3am' is not a daily window hh:mm-hh:mm in UTC",
        ),
        (
            "shared",
            raw(modelStore={"iaAfterDays": 45}),
            "pingvas:modelStore.iaAfterDays: 45 is not an EFS lifecycle period",
        ),
        (
            "shared",
            raw(registry={"repositories": ["API"]}),
            "pingvas:registry.repositories[0]: 'API' is not a repository name",
        ),
        ("shared", raw(logsBucket={"expireAfterDays": 0}), "pingvas:logsBucket.expireAfterDays"),
        ("dev", raw(aurora={"readers": 2}), "pingvas:aurora: only a platform stack"),
        (
            "prod",
            raw(redis={"mode": "replicated", "replicas": 0}),
            "pingvas:redis.replicas: replicated mode needs at least one replica",
        ),
        (
            "dev",
            raw(redis={"mode": "standalone", "replicas": 1}),
            "pingvas:redis.replicas: standalone mode has no",
        ),
        (
            "dev",
            raw(redis={"replicas": 1}),
            "pingvas:redis.replicas: serverless mode has no nodes and reads no replicas",
        ),
        ("dev", raw(redis={"engine": "memcached"}), "pingvas:redis.engine: should be"),
        (
            "dev",
            raw(redis={"nodeType": "r6g.large"}),
            "pingvas:redis.nodeType: 'r6g.large' is not a node type such as cache.t4g.medium",
        ),
        ("dev", raw(images={"iaAfterDays": 10}), "pingvas:images.iaAfterDays: should be"),
        (
            "prod",
            raw(images={"archiveAfterDays": 100}),
            "pingvas:images.archiveAfterDays: 100 must be at least 30 days after iaAfterDays (90)",
        ),
        (
            "prod",
            raw(images={"expireAfterDays": 180}),
            "pingvas:images.expireAfterDays: 180 expires images before they move "
            "(archiveAfterDays: day 180)",
        ),
        ("dev", raw(cdn={"priceClass": "cheap"}), "pingvas:cdn.priceClass: should be"),
        (
            "dev",
            raw(cdn={"aliases": ["img.example.com"]}),
            "pingvas:cdn.aliases: unknown configuration key",
        ),
    ],
)
def test_invalid_data_config_names_the_key(
    stack: str, values: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_stack_config(stack, values)
    assert message in str(raised.value)


def test_data_defaults_are_spec_figures() -> None:
    platform = load_stack_config(
        "shared", {"pingvas:edge": json.dumps({"domain": "pingvas.example.com"})}
    ).platform
    assert platform is not None
    aurora = platform.aurora
    assert (aurora.min_capacity, aurora.max_capacity, aurora.readers) == (0.5, 4, 1)
    assert aurora.backup_retention_days == 7
    assert (platform.model_store.ia_after_days, platform.model_store.backup_retention_days) == (
        30,
        30,
    )
    assert platform.logs_bucket.expire_after_days == 30
    dev = load_stack_config("dev", {}).environment
    prod = load_stack_config("prod", {}).environment
    assert dev is not None
    assert prod is not None
    # docs/cost.md: ElastiCache Serverless Valkey (decision 0117): data in three zones, no
    # node to fail over, usage limits that bound the bill; daily snapshots (SPEC §9).
    for cache, retention in ((dev.redis, 1), (prod.redis, 7)):
        assert (cache.mode, cache.engine) == (RedisMode.SERVERLESS, "valkey")
        assert (cache.max_data_gb, cache.max_ecpu_per_second) == (1, 5_000)
        assert cache.snapshot_retention_days == retention
    assert (dev.images.ia_after_days, dev.images.archive_after_days) == (90, None)
    assert (prod.images.ia_after_days, prod.images.archive_after_days) == (90, 180)
