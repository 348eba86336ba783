"""Rate limits kept in Redis, shared by every replica: the ``limits`` library's fixed
window (one atomic Lua INCR + EXPIRE per hit), per minute."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache

import redis
from limits import RateLimitItemPerMinute
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter


@lru_cache(maxsize=16)
def _per_minute(limit: int) -> RateLimitItemPerMinute:
    return RateLimitItemPerMinute(limit)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int


class RateLimiter:
    def __init__(self, client: redis.Redis, prefix: str = "pingvas:ratelimit") -> None:
        # The library builds its client on the pool we give it: no second set of sockets.
        url = "redis://"  # ignored when a connection pool is given
        self._limiter = FixedWindowRateLimiter(
            RedisStorage(url, connection_pool=client.connection_pool, key_prefix="pingvas")
        )
        self.prefix = prefix

    def hit(self, scope: str, identity: str, limit: int) -> Decision:
        """Count one request for ``identity`` in its current one-minute window."""
        item = _per_minute(limit)
        if self._limiter.hit(item, self.prefix, scope, identity):
            return Decision(True, 0)
        reset_at = self._limiter.get_window_stats(item, self.prefix, scope, identity).reset_time
        return Decision(False, max(1, math.ceil(reset_at - time.time())))
