"""The app's Redis clients: one server (node-based ElastiCache, in-cluster Redis) or the
cluster protocol (ElastiCache Serverless speaks nothing else), chosen by ``REDIS_CLUSTER``;
and the hash tags that keep every multi-key command in one slot.

In cluster mode a command, transaction or script whose keys hash to different slots is
refused (``CROSSSLOT``; redis-py refuses it before sending). Every key the app names
together with another therefore carries a hash tag, ``{...}``: only the tag is hashed.
The queue's keys share ``{pingvas:jobs}`` (app/core/queue.py), each tier's active-user
HyperLogLogs share ``{pingvas:active-users:<tier>}`` (app/core/activity.py); a rate
limit touches one key a command (app/core/ratelimit.py), so it needs none. Tags are kept
on a single server too: one key scheme whichever server runs it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import redis
import redis.asyncio
from redis.asyncio.cluster import ClusterPipeline as AsyncClusterPipeline
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import ClusterPipeline, RedisCluster
from redis.connection import SSLConnection, parse_url

SyncRedis = redis.Redis | RedisCluster
AsyncRedis = redis.asyncio.Redis | AsyncRedisCluster
AsyncPipeline = redis.asyncio.client.Pipeline | AsyncClusterPipeline
Pipeline = redis.client.Pipeline | ClusterPipeline | AsyncPipeline


def hash_tag(key: str) -> str | None:
    """The part of ``key`` Redis Cluster hashes when it is not the whole key: between the
    first ``{`` and the first ``}`` after it, when that is not empty (the cluster spec's
    rule, so ``{}x`` and ``x{`` have none)."""
    start = key.find("{")
    if start < 0:
        return None
    end = key.find("}", start + 1)
    if end <= start + 1:
        return None
    return key[start + 1 : end]


def require_tag(prefix: str, what: str) -> None:
    """Refuse a prefix whose keys would scatter over slots in cluster mode."""
    if hash_tag(prefix) is None:
        raise ValueError(
            f"{what} {prefix!r} has no hash tag: its keys meet in one command, so in "
            "cluster mode they must share a slot (write it as '{name}')"
        )


def sync_client(url: str, *, cluster: bool, **options: Any) -> SyncRedis:
    if cluster:
        return RedisCluster.from_url(url, **options)
    return redis.Redis.from_url(url, **options)


def async_client(url: str, *, cluster: bool, **options: Any) -> AsyncRedis:
    if cluster:
        return AsyncRedisCluster.from_url(url, **options)
    return redis.asyncio.Redis.from_url(url, **options)


def limits_storage(url: str, *, cluster: bool) -> tuple[str, dict[str, Any]]:
    """The ``limits`` library's storage URI and the client options the URI cannot carry.
    Its cluster scheme takes only ``host:port`` and credentials, so TLS and the
    certificate checks the ``rediss://`` URL asks for are passed as options."""
    if not cluster:
        return f"async+{url}", {}
    parsed = parse_url(url)
    options: dict[str, Any] = {
        name: value
        for name, value in parsed.items()
        if name.startswith("ssl_")  # ssl_cert_reqs, ssl_check_hostname, ...
    }
    if parsed.get("connection_class") is SSLConnection:
        options["ssl"] = True
    return f"async+redis+cluster://{urlsplit(url).netloc}", options
