"""An environment's Redis (SPEC §4), behind one small interface: whatever runs it, the
consumers get a `RedisEndpoint` (components/endpoints.py) and nothing else.

- `ManagedRedis` (components/data/managed_redis.py): ElastiCache, `replicated` (prod: primary
  + replicas across zones, automatic failover and Multi-AZ, the spec's Sentinel) or
  `standalone` (dev: one node); both with a generated AUTH token, TLS whose certificate
  and host name the clients check, encrypted at rest, daily snapshots.
- `InClusterRedis` (components/data/in_cluster_redis.py): one Redis pod with append-only
  persistence in the environment's namespace (ephemeral stacks), ready in seconds and
  gone with the stack.

Both register as `pingvas:data:Redis`, so existing stacks keep their resources, and both
write their credentials in one shape (`secret_data`), so the chart reads either the same way."""

from __future__ import annotations

from typing import Protocol

import pulumi

from components.endpoints import RedisEndpoint

TYPE_TOKEN = "pingvas:data:Redis"  # noqa: S105 (a type token)
PORT = 6379
DEFAULT_ENGINE_VERSIONS = {"redis": "7.1", "valkey": "8.0"}
# The keys of every Redis secret: the app reads REDIS_URL, KEDA's scaler REDIS_PASSWORD
# (empty where the server wants none). The chart copies the secret as it is
# (app/chart/templates/external-secrets.yaml), so no template takes a URL apart.
SECRET_KEYS = ("REDIS_URL", "REDIS_PASSWORD")
# What a `rediss://` URL asks of redis-py (its URL parser reads both): the server's
# certificate must chain to a trusted CA (ElastiCache's chain to Amazon's public roots, in
# the images' system store) and name the host connected to. redis-py defaults to both
# today; spelled out so no client default or downgrade decides it.
TLS_QUERY = "ssl_cert_reqs=required&ssl_check_hostname=true"


class RedisStore(Protocol):
    endpoint: RedisEndpoint


def check_engine(engine: str) -> None:
    if engine not in DEFAULT_ENGINE_VERSIONS:
        raise ValueError(f"Redis engine: {engine!r} is neither redis nor valkey")


def secret_data(
    host: pulumi.Input[str], *, tls: bool, password: pulumi.Output[str] | None
) -> dict[str, pulumi.Input[str]]:
    """The secret's content (`SECRET_KEYS`), built here alone: the one URL with the
    password in it, and the password on its own."""
    credentials = "" if password is None else pulumi.Output.format(":{0}@", password)
    url = pulumi.Output.format(
        "{0}://{1}{2}:{3}/0{4}",
        "rediss" if tls else "redis",
        credentials,
        host,
        PORT,
        f"?{TLS_QUERY}" if tls else "",
    )
    data: dict[str, pulumi.Input[str]] = {"REDIS_URL": url, "REDIS_PASSWORD": password or ""}
    return data
