"""What a data store hands its consumers (issue 11, typed wiring): host, port, TLS and where
the credentials live, as typed values. Nothing downstream parses a URL apart; the one
URL with credentials is built inside the store's secret, for the app alone."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class SecretReference:
    """Where a credential lives: a Secrets Manager secret, or a Kubernetes Secret in the
    environment's namespace. Exactly one is set."""

    secrets_manager_arn: pulumi.Output[str] | None = None
    kubernetes_secret_name: pulumi.Output[str] | None = None

    def __post_init__(self) -> None:
        if (self.secrets_manager_arn is None) == (self.kubernetes_secret_name is None):
            raise ValueError("SecretReference: set exactly one of the two places")


@dataclass(frozen=True)
class DatabaseEndpoint:
    """An environment's PostgreSQL: where it answers, its schema and roles, and the secrets
    of the API (`secret_arn`: DATABASE_URL, ...), of the GPU workers (`worker_secret_arn`:
    the same keys for `worker_user`) and of its migrations (`owner_secret_arn`: the schema
    owner; None where nobody migrates through this stack)."""

    host: pulumi.Output[str]
    port: pulumi.Output[int]
    name: pulumi.Output[str]
    schema: str
    user: str
    worker_user: str
    tls: bool
    secret_arn: pulumi.Output[str]
    worker_secret_arn: pulumi.Output[str]
    owner_secret_arn: pulumi.Output[str] | None


@dataclass(frozen=True)
class RedisEndpoint:
    """An environment's Redis: `credentials` holds the keys of
    `components.data.redis.SECRET_KEYS` whichever component runs it; `auth` says whether
    the server wants a password."""

    host: pulumi.Output[str]
    port: int
    tls: bool
    auth: bool
    credentials: SecretReference
    # Where replicas answer (replicated ElastiCache only): a stack output for operators;
    # the app reads and writes the primary.
    reader_host: pulumi.Output[str] | None = None
    # The server speaks only the cluster protocol (ElastiCache Serverless): clients must
    # follow slots, and the app's multi-key commands stay in one (app/core/redis_clients.py).
    cluster: bool = False

    @property
    def address(self) -> pulumi.Output[str]:
        """`host:port`, as KEDA's scaler wants it."""
        return pulumi.Output.concat(self.host, ":", str(self.port))
