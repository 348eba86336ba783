"""Rate limits kept in Redis, shared by every replica: the ``limits`` library's fixed
window (one atomic Lua INCR + EXPIRE per hit), per minute.

The hit runs on the event loop through ``limits.aio`` (redis.asyncio): no worker thread
waits on it, which measurably raises the generation endpoint's throughput
(benchmarks/api.py, docs/app.md)."""

from __future__ import annotations

import asyncio
import math
import time
import weakref
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from limits import RateLimitItemPerMinute
from limits.aio.storage import RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError


@lru_cache(maxsize=16)
def _per_minute(limit: int) -> RateLimitItemPerMinute:
    return RateLimitItemPerMinute(limit)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int


class RateLimiter:
    def __init__(
        self,
        redis_url: str,
        prefix: str = "pingvas:ratelimit",
        socket_timeout: float = 5,
    ) -> None:
        self._url = redis_url
        self._socket_timeout = socket_timeout
        # redis.asyncio connections belong to the event loop that opened them: one client
        # per loop (a server process has one; the tests open several).
        self._per_loop: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, FixedWindowRateLimiter
        ] = weakref.WeakKeyDictionary()
        self.prefix = prefix

    def _limiter(self) -> FixedWindowRateLimiter:
        loop = asyncio.get_running_loop()
        limiter = self._per_loop.get(loop)
        if limiter is None:
            # redis.asyncio's client options (limits types them narrower than it passes).
            client_options: dict[str, Any] = {
                "socket_timeout": self._socket_timeout,
                "socket_connect_timeout": self._socket_timeout,
                # A restarted Redis leaves pooled connections closed: reconnect and retry.
                "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), 3),
                "retry_on_error": [RedisConnectionError],
            }
            storage = RedisStorage(
                f"async+{self._url}",
                implementation="redispy",
                key_prefix="pingvas",
                **client_options,
            )
            limiter = self._per_loop[loop] = FixedWindowRateLimiter(storage)
        return limiter

    async def hit(self, scope: str, identity: str, limit: int) -> Decision:
        """Count one request for ``identity`` in its current one-minute window."""
        limiter, item = self._limiter(), _per_minute(limit)
        if await limiter.hit(item, self.prefix, scope, identity):
            return Decision(True, 0)
        stats = await limiter.get_window_stats(item, self.prefix, scope, identity)
        return Decision(False, max(1, math.ceil(stats.reset_time - time.time())))
