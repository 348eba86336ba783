"""The Redis restore of a serverless cache (decision 0117): moto 5 has no serverless
caches, so these tests answer the script's calls with botocore's `Stubber`, which checks
every request against AWS's own service model for ElastiCache (an unknown parameter, a
missing required one or a wrong type fails the call, and each response must fit the
model's output shape) and asserts the exact calls, in order, with the exact parameters.
The node-based path runs against moto in test_restore.py and test_runbooks_run.py."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ops.restore import redis_restore
from ops.restore.common import RestoreError, Waiter
from ops.restore.redis import restore_redis

REGION = "us-east-1"
NAME = "pingvas-prod-redis"
HOST = f"{NAME}-x1y2z3.serverless.use1.cache.amazonaws.com"
ARN = f"arn:aws:elasticache:{REGION}:123456789012:serverlesscache:{NAME}"
PROD = {"redisMode": "serverless", "redisHost": HOST, "redisSecretArn": "arn:secret"}
NOW = datetime(2026, 12, 8, 9, 30, tzinfo=UTC)
TARGET = f"{NAME}-r12080930"
# What the cache was made with (components/data/serverless_redis.py), as AWS describes it.
LIMITS = {
    "DataStorage": {"Maximum": 1, "Unit": "GB"},
    "ECPUPerSecond": {"Maximum": 5000},
}
SAME = {
    "MajorEngineVersion": "8",
    "CacheUsageLimits": LIMITS,
    "SecurityGroupIds": ["sg-redis-prod"],
    "UserGroupId": NAME,
    "SubnetIds": ["subnet-a", "subnet-b", "subnet-c"],
    "SnapshotRetentionLimit": 7,
    "DailySnapshotTime": "02:00",
}


class FixedClock(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> FixedClock:
        return cls.fromtimestamp(NOW.timestamp(), tz)


@pytest.fixture
def elasticache(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Stubber]]:
    monkeypatch.setattr(redis_restore, "datetime", FixedClock)  # the new name's clock
    client = boto3.client(
        "elasticache",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stubber:
        yield client, stubber


def cache(name: str, host: str, status: str = "available") -> dict[str, Any]:
    return {
        "ServerlessCacheName": name,
        "Status": status,
        "Engine": "valkey",
        "ARN": f"arn:aws:elasticache:{REGION}:123456789012:serverlesscache:{name}",
        "Endpoint": {"Address": host, "Port": 6379},
        **SAME,
    }


def snapshot(name: str, taken: datetime, status: str = "available") -> dict[str, Any]:
    return {
        "ServerlessCacheSnapshotName": name,
        "ARN": f"arn:aws:elasticache:{REGION}:123456789012:serverlesssnapshot:{name}",
        "Status": status,
        "SnapshotType": "automated",
        "CreateTime": taken,
        "ServerlessCacheConfiguration": {"ServerlessCacheName": NAME, "Engine": "valkey"},
    }


def finds_the_cache(stubber: Stubber) -> None:
    """Two pages: dev's cache first, then prod's, found by its endpoint."""
    dev = cache("pingvas-dev-redis", "pingvas-dev-redis-a1b2c3.serverless.use1.cache.amazonaws.com")
    stubber.add_response(
        "describe_serverless_caches", {"ServerlessCaches": [dev], "NextToken": "2"}, {}
    )
    stubber.add_response(
        "describe_serverless_caches",
        {"ServerlessCaches": [cache(NAME, HOST)]},
        {"NextToken": "2"},
    )


def no_wait(out: io.StringIO) -> Waiter:
    return Waiter(out=out, sleep=lambda _: None)


def test_restores_the_newest_available_snapshot_into_a_cache_like_the_old_one(
    elasticache: tuple[Any, Stubber],
) -> None:
    client, stubber = elasticache
    finds_the_cache(stubber)
    newest = snapshot("daily-1208", datetime(2026, 12, 8, 2, 0, tzinfo=UTC))
    stubber.add_response(
        "describe_serverless_cache_snapshots",
        {
            "ServerlessCacheSnapshots": [
                snapshot("daily-1207", datetime(2026, 12, 7, 2, 0, tzinfo=UTC)),
                newest,
                snapshot("manual", datetime(2026, 12, 8, 9, 0, tzinfo=UTC), status="creating"),
            ]
        },
        {"ServerlessCacheName": NAME},
    )
    stubber.add_response(
        "create_serverless_cache",
        {"ServerlessCache": cache(TARGET, "", status="creating")},
        {
            "ServerlessCacheName": TARGET,
            "Description": f"restore of {NAME} from daily-1208",
            "Engine": "valkey",
            "SnapshotArnsToRestore": [newest["ARN"]],
            **SAME,
        },
    )
    new_host = f"{TARGET}-q9w8e7.serverless.use1.cache.amazonaws.com"
    for status in ("creating", "available", "available"):  # the wait, then the endpoint
        stubber.add_response(
            "describe_serverless_caches",
            {"ServerlessCaches": [cache(TARGET, new_host, status)]},
            {"ServerlessCacheName": TARGET},
        )
    out = io.StringIO()

    assert restore_redis(client, PROD, out=out, waiter=no_wait(out)) == TARGET

    stubber.assert_no_pending_responses()
    text = out.getvalue()
    assert f"serverless cache {TARGET}: creating" in text  # the progress display
    assert f"endpoint: {new_host}" in text
    assert "put its endpoint in the Redis secret's URL" in text  # the repointing, next
    assert "worker re-enqueues them from PostgreSQL" in text


def test_without_an_available_snapshot_it_fails_and_creates_nothing(
    elasticache: tuple[Any, Stubber],
) -> None:
    """A snapshot still being taken is no snapshot; no create call is stubbed, so one
    would fail the test with Stubber's own error rather than this RestoreError."""
    client, stubber = elasticache
    finds_the_cache(stubber)
    stubber.add_response(
        "describe_serverless_cache_snapshots",
        {"ServerlessCacheSnapshots": [snapshot("manual", NOW, status="creating")]},
        {"ServerlessCacheName": NAME},
    )
    with pytest.raises(RestoreError, match=f"no available snapshot of {NAME}"):
        restore_redis(client, PROD, out=io.StringIO(), waiter=no_wait(io.StringIO()))
    stubber.assert_no_pending_responses()


def test_a_cache_no_longer_there_is_named_and_nothing_is_created(
    elasticache: tuple[Any, Stubber],
) -> None:
    client, stubber = elasticache
    stubber.add_response("describe_serverless_caches", {"ServerlessCaches": []}, {})
    with pytest.raises(RestoreError, match=f"no serverless cache answers at {HOST}"):
        restore_redis(client, PROD, out=io.StringIO(), waiter=no_wait(io.StringIO()))
    stubber.assert_no_pending_responses()


def test_dry_run_plans_and_changes_nothing(elasticache: tuple[Any, Stubber]) -> None:
    client, stubber = elasticache
    finds_the_cache(stubber)
    stubber.add_response(
        "describe_serverless_cache_snapshots",
        {"ServerlessCacheSnapshots": [snapshot("daily-1208", NOW)]},
        {"ServerlessCacheName": NAME},
    )
    out = io.StringIO()
    restore_redis(client, PROD, out=out, waiter=no_wait(out), dry_run=True)
    stubber.assert_no_pending_responses()
    assert f"create serverless cache {TARGET}" in out.getvalue()
    assert "dry run" in out.getvalue()


def test_the_stubber_refuses_a_request_outside_the_service_model(
    elasticache: tuple[Any, Stubber],
) -> None:
    """Control for the claim above: a parameter ElastiCache does not have fails the call."""
    client, stubber = elasticache
    stubber.add_response("create_serverless_cache", {"ServerlessCache": cache(TARGET, "")})
    with pytest.raises(Exception, match="Unknown parameter"):
        client.create_serverless_cache(
            ServerlessCacheName=TARGET, Engine="valkey", NumCacheClusters=2
        )
