"""Which tier a worker reads first: weighted, so higher tiers go first without starving
the lower ones.

Smooth weighted round-robin (as nginx balances upstreams): with weights pro 4, basic 2,
free 1, every cycle of seven reads prefers pro four times, basic twice and free once,
interleaved (pro, basic, pro, free, pro, basic, pro). A read tries the preferred tier
first and falls back to the others, highest first, so an empty tier's turn is never
wasted; under a full backlog each tier gets at least its share.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.core.queue import PRIORITY


class TierSchedule:
    def __init__(self, weights: Mapping[str, int]) -> None:
        if set(weights) != set(PRIORITY) or min(weights.values()) < 1:
            raise ValueError(f"weights must give each of {PRIORITY} at least 1")
        self.weights = dict(weights)
        self._current = dict.fromkeys(PRIORITY, 0)

    def next_order(self) -> list[str]:
        total = sum(self.weights.values())
        for tier in PRIORITY:
            self._current[tier] += self.weights[tier]
        # Ties go to the higher tier (PRIORITY order, max keeps the first).
        preferred = max(PRIORITY, key=lambda tier: self._current[tier])
        self._current[preferred] -= total
        return [preferred, *(tier for tier in PRIORITY if tier != preferred)]
