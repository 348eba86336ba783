"""Fixed-window rate limits kept in Redis, shared by every replica."""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int


class RateLimiter:
    def __init__(self, client: redis.Redis, prefix: str = "pingvas:ratelimit") -> None:
        self.redis = client
        self.prefix = prefix

    def hit(self, scope: str, identity: str, limit: int, window_seconds: int = 60) -> Decision:
        """Count one request for ``identity`` in the current window."""
        now = time.time()
        window = int(now // window_seconds)
        key = f"{self.prefix}:{scope}:{identity}:{window}"
        pipeline = self.redis.pipeline(transaction=True)
        pipeline.incr(key)
        pipeline.expire(key, window_seconds + 1, nx=True)
        count = int(pipeline.execute()[0])
        if count <= limit:
            return Decision(True, 0)
        retry_after = max(1, int((window + 1) * window_seconds - now + 0.999))
        return Decision(False, retry_after)
