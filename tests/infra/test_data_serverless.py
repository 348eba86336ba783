"""ElastiCache Serverless (Valkey) for an environment (decision 0117): the component on its
own, the stack with `redis.mode: serverless`, and the config that refuses node keys."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from components.data.redis import TLS_QUERY
from components.data.serverless_redis import ServerlessRedis, ServerlessRedisArgs
from infra.config import ConfigError, load_stack_config
from pulumi_offline import OfflineRun, fake_secret, run_offline
from tests.support.capture import run_capturing
from tests.support.stacks import NODE_BASED_REDIS, explicit_aws, stack_runner

CACHE = "aws:elasticache/serverlessCache:ServerlessCache"
USER = "aws:elasticache/user:User"
USER_GROUP = "aws:elasticache/userGroup:UserGroup"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SERVERLESS = {"pingvas:redis": {"mode": "serverless"}}


def serverless_program(**overrides: Any) -> Callable[[], None]:
    def program() -> None:
        ServerlessRedis(
            "pingvas-prod-redis",
            ServerlessRedisArgs(
                **{
                    "cache_name": "pingvas-prod-redis",
                    "secret_name": "pingvas-prod-redis",
                    "subnet_ids": ["subnet-a", "subnet-b", "subnet-c"],
                    "security_group_id": "sg-redis",
                    **overrides,
                }
            ),
            opts=explicit_aws(),
        )

    return program


def test_serverless_secret_keeps_the_url_shape_with_the_default_users_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The password is the user group's `default` user's: AUTH with a password alone,
    so the URL and KEDA's REDIS_PASSWORD keep the node-based caches' shape."""
    run, versions = run_capturing(
        monkeypatch, "aws:secretsmanager/secretVersion:SecretVersion", serverless_program()
    )
    password = fake_secret("pingvas-prod-redis-auth")
    (version,) = versions
    host = "pingvas-prod-redis-x1y2z3.serverless.use1.cache.amazonaws.com"
    assert json.loads(version["secretString"]) == {
        "REDIS_URL": f"rediss://:{password}@{host}:6379/0?{TLS_QUERY}",
        "REDIS_PASSWORD": password,
    }
    (user,) = run.of_type(USER)
    assert (user.inputs["userName"], user.inputs["engine"]) == ("default", "valkey")
    assert user.inputs["authenticationMode"] == "[secret]"  # a password, never in the preview
    (group,) = run.of_type(USER_GROUP)
    assert group.inputs["userIds"] == [user.inputs["userId"]]
    (cache,) = run.of_type(CACHE)
    assert cache.inputs["userGroupId"] == group.inputs["userGroupId"]
    assert password not in json.dumps([r.as_json() for r in run.resources])


def test_serverless_cache_is_bounded_snapshotted_and_in_the_private_subnets() -> None:
    run = run_offline(
        project="pingvas",
        stack="t",
        config={},
        region="us-east-1",
        program=serverless_program(max_data_gb=2, max_ecpu_per_second=10_000),
    )
    (cache,) = run.of_type(CACHE)
    inputs = cache.inputs
    assert (inputs["engine"], inputs["majorEngineVersion"]) == ("valkey", "8")
    assert inputs["cacheUsageLimits"] == {
        "dataStorage": {"maximum": 2, "unit": "GB"},
        "ecpuPerSeconds": [{"maximum": 10_000}],
    }
    assert (inputs["snapshotRetentionLimit"], inputs["dailySnapshotTime"]) == (7, "02:00")
    assert inputs["subnetIds"] == ["subnet-a", "subnet-b", "subnet-c"]
    assert inputs["securityGroupIds"] == ["sg-redis"]


def test_serverless_redis_checks_its_engine() -> None:
    with pytest.raises(Exception, match="neither redis nor valkey"):
        run_offline(
            project="pingvas",
            stack="t",
            config={},
            region="us-east-1",
            program=serverless_program(engine="memcached"),
        )


@pytest.fixture(scope="module")
def serverless_prod(tmp_path_factory: pytest.TempPathFactory) -> OfflineRun:
    return stack_runner(tmp_path_factory.mktemp("serverless"))("prod", SERVERLESS)


def test_a_serverless_environment_has_no_nodes_and_its_own_security_group(
    serverless_prod: OfflineRun, shared: OfflineRun
) -> None:
    """The platform's `redis-prod` group, which admits the nodes on 6379 only (never the
    preview pools' group, tests/infra/test_preview_data_isolation.py); protected in prod."""
    run = serverless_prod
    assert run.of_type(REPLICATION_GROUP) == []
    (cache,) = run.of_type(CACHE)
    assert cache.inputs["name"] == "pingvas-prod-redis"
    assert cache.inputs["securityGroupIds"] == [shared.outputs["securityGroupIds"]["redis-prod"]]
    assert cache.inputs["subnetIds"] == shared.outputs["privateSubnetIds"]
    assert cache.inputs["snapshotRetentionLimit"] == 7
    assert cache.protect
    assert run.outputs["redisMode"] == "serverless"
    assert run.outputs["redisHost"].endswith(".serverless.use1.cache.amazonaws.com")
    assert "redisReaderHost" not in run.outputs


def test_a_serverless_environment_tells_the_chart_to_speak_cluster(
    serverless_prod: OfflineRun, stack_with: Callable[..., OfflineRun]
) -> None:
    redis = release_redis(serverless_prod)
    assert (redis["cluster"], redis["tls"], redis["auth"]) == (True, True, True)
    # Control: a node-based prod (chosen explicitly) speaks the plain protocol.
    assert release_redis(stack_with("prod", NODE_BASED_REDIS["prod"]))["cluster"] is False


def release_redis(run: OfflineRun) -> dict[str, Any]:
    (release,) = [
        r
        for r in run.of_type("kubernetes:helm.sh/v3:Release")
        if "redis" in (r.inputs.get("values") or {})
    ]
    values: dict[str, Any] = release.inputs["values"]["redis"]
    return values


def test_serverless_alarms_watch_its_limits_not_nodes(serverless_prod: OfflineRun) -> None:
    alarms = {
        a.inputs["metricName"]: a
        for a in serverless_prod.of_type(ALARM)
        if a.inputs.get("namespace") == "AWS/ElastiCache"
    }
    assert alarms.keys() == {
        "Evictions",
        "ThrottledCmds",
        "BytesUsedForCache",
        "ElastiCacheProcessingUnits",
    }
    for alarm in alarms.values():
        assert alarm.inputs["dimensions"] == {"clusterId": "pingvas-prod-redis"}
    # 80 % of the profile's limits: 1 GB, and 5,000 ECPUs a second over a minute.
    assert alarms["BytesUsedForCache"].inputs["threshold"] == 0.8e9
    assert alarms["ElastiCacheProcessingUnits"].inputs["threshold"] == 0.8 * 5_000 * 60


def raw(**redis: Any) -> dict[str, str]:
    return {"pingvas:redis": json.dumps(redis)}


@pytest.mark.parametrize(
    ("stack", "redis", "message"),
    [
        (
            "prod",
            {"mode": "serverless", "nodeType": "cache.t4g.medium"},
            "pingvas:redis.nodeType: serverless mode has no nodes",
        ),
        ("prod", {"mode": "serverless", "replicas": 1}, "pingvas:redis.replicas: serverless"),
        (
            "dev",
            {"mode": "serverless", "maintenanceWindow": "sun:06:00-sun:07:00"},
            "pingvas:redis.maintenanceWindow: serverless mode has no nodes",
        ),
        (
            "dev",
            {"mode": "serverless", "engineVersion": "8.0"},
            "pingvas:redis.engineVersion: serverless mode",
        ),
        (
            "dev",
            {"mode": "serverless", "engine": "redis"},
            "pingvas:redis.engine: serverless mode runs valkey",
        ),
        (
            "dev",
            {"mode": "standalone", "nodeType": "cache.t4g.small", "maxDataGb": 2},
            "pingvas:redis.maxDataGb: only serverless mode reads it",
        ),
        (
            "prod",
            {"mode": "serverless", "maxEcpuPerSecond": 10},
            "pingvas:redis.maxEcpuPerSecond: should be greater than or equal to 1000",
        ),
    ],
)
def test_serverless_config_refuses_node_keys(
    stack: str, redis: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_stack_config(stack, raw(**redis))
    assert message in str(raised.value)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_stack_sets_its_own_limits_or_goes_back_to_nodes(stack: str) -> None:
    """Controls: the profiles' serverless mode takes a stack's own limits, and a stack
    that names a node-based mode with its nodes gets them (decision 0117's way back)."""
    config = load_stack_config(stack, raw(mode="serverless", maxDataGb=3))
    assert config.environment is not None
    redis = config.environment.redis
    assert (redis.mode.value, redis.engine, redis.max_data_gb) == ("serverless", "valkey", 3)
    assert redis.replicas == 0
    node_based = load_stack_config(
        stack, raw(**NODE_BASED_REDIS[stack]["pingvas:redis"])
    ).environment
    assert node_based is not None
    assert node_based.redis.mode.value in ("standalone", "replicated")
    assert node_based.redis.node_type in ("cache.t4g.small", "cache.t4g.medium")
