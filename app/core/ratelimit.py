"""Rate limits kept in Redis, shared by every replica: the ``limits`` library's fixed
window (one atomic Lua INCR + EXPIRE per hit), per minute. Each hit names one key, so a
Redis cluster (``cluster=True``) needs no hash tag here.

Redis out of reach does not refuse every request: each process then counts in its own
memory (the same limits, per process instead of shared), and tries Redis again
``retry_seconds`` later rather than on every request (no connect timeout per request).

The hit runs on the event loop through ``limits.aio`` (redis.asyncio): no worker thread
waits on it, which measurably raises the generation endpoint's throughput
(benchmarks/api.py, docs/app.md)."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from limits import RateLimitItemPerMinute
from limits.aio.storage import RedisClusterStorage, RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from app.core.loops import PerLoop
from app.core.redis_clients import limits_storage

logger = logging.getLogger(__name__)


@lru_cache(maxsize=16)
def _per_minute(limit: int) -> RateLimitItemPerMinute:
    return RateLimitItemPerMinute(limit)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int


class LocalWindows:
    """Fixed one-minute windows in this process's memory: the fallback while Redis is
    out of reach. The counts are dropped when the minute turns, so memory stays bounded
    by one minute's callers. Used from the event loop only (no lock)."""

    def __init__(self) -> None:
        self._window = 0
        self._counts: dict[tuple[str, str], int] = {}

    def hit(self, scope: str, identity: str, limit: int) -> Decision:
        now = time.time()
        window = int(now // 60)
        if window != self._window:
            self._window, self._counts = window, {}
        count = self._counts.get((scope, identity), 0) + 1
        self._counts[(scope, identity)] = count
        if count <= limit:
            return Decision(True, 0)
        return Decision(False, max(1, math.ceil((window + 1) * 60 - now)))


class RateLimiter:
    def __init__(
        self,
        redis_url: str,
        prefix: str = "pingvas:ratelimit",
        socket_timeout: float = 5,
        retry_seconds: float = 5,
        *,
        cluster: bool = False,
    ) -> None:
        self._url = redis_url
        self._cluster = cluster
        self._local = LocalWindows()
        self._retry_seconds = retry_seconds
        self._redis_retry_at = 0.0
        self._socket_timeout = socket_timeout
        self._limiters = PerLoop(self._new_limiter)  # redis.asyncio: one client per loop
        self.prefix = prefix

    def _new_limiter(self) -> FixedWindowRateLimiter:
        # redis.asyncio's client options (limits types them narrower than it passes).
        client_options: dict[str, Any] = {
            "socket_timeout": self._socket_timeout,
            "socket_connect_timeout": self._socket_timeout,
            # A restarted Redis leaves pooled connections closed: reconnect and retry.
            "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), 3),
            "retry_on_error": [RedisConnectionError],
        }
        uri, tls_options = limits_storage(self._url, cluster=self._cluster)
        kind = RedisClusterStorage if self._cluster else RedisStorage
        storage = kind(
            uri, implementation="redispy", key_prefix="pingvas", **client_options, **tls_options
        )
        return FixedWindowRateLimiter(storage)

    async def hit(self, scope: str, identity: str, limit: int) -> Decision:
        """Count one request for ``identity`` in its current one-minute window."""
        if time.monotonic() < self._redis_retry_at:  # Redis failed a moment ago
            return self._local.hit(scope, identity, limit)
        try:
            return await self._hit_shared(scope, identity, limit)
        except RedisError as error:
            logger.warning(
                "rate limits counted per process for %.0f s: redis unreachable: %s",
                self._retry_seconds,
                error,
            )
            self._redis_retry_at = time.monotonic() + self._retry_seconds
            return self._local.hit(scope, identity, limit)

    async def _hit_shared(self, scope: str, identity: str, limit: int) -> Decision:
        limiter, item = self._limiters.get(), _per_minute(limit)
        if await limiter.hit(item, self.prefix, scope, identity):
            return Decision(True, 0)
        stats = await limiter.get_window_stats(item, self.prefix, scope, identity)
        return Decision(False, max(1, math.ceil(stats.reset_time - time.time())))
