"""An environment's Redis (SPEC §4), behind one small interface: whatever runs it, the
consumers get a `RedisEndpoint` (components/endpoints.py) and nothing else.

- `ManagedRedis` (components/data/managed_redis.py): ElastiCache, `replicated` (prod: primary
  + replicas across zones, automatic failover and Multi-AZ, the spec's Sentinel, with a
  generated AUTH token) or `standalone` (dev: one node, no AUTH); TLS, encrypted at rest,
  daily snapshots.
- `InClusterRedis` (components/data/in_cluster_redis.py): one Redis pod with append-only
  persistence in the environment's namespace (ephemeral stacks), ready in seconds and
  gone with the stack.

Both register as `pingvas:data:Redis`, so existing stacks keep their resources."""

from __future__ import annotations

from typing import Protocol

from components.endpoints import RedisEndpoint

TYPE_TOKEN = "pingvas:data:Redis"  # noqa: S105 (a type token)
PORT = 6379
DEFAULT_ENGINE_VERSIONS = {"redis": "7.1", "valkey": "8.0"}


class RedisStore(Protocol):
    endpoint: RedisEndpoint


def check_engine(engine: str) -> None:
    if engine not in DEFAULT_ENGINE_VERSIONS:
        raise ValueError(f"Redis engine: {engine!r} is neither redis nor valkey")
