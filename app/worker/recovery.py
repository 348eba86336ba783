"""Re-enqueueing from PostgreSQL what Redis lost (see "Recovery" in app.core.queue).

Two triggers: Redis lost its data (``NOGROUP``, or the marker gone), and a periodic
sweep for jobs whose message never reached Redis at all (the API died between its
commit and its XADD). The sweep only takes jobs older than ``min_age_seconds``, so it
never races an API that is about to enqueue.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from app.core.queue import JobQueue
from app.store.jobs import JobStore

logger = logging.getLogger(__name__)


class QueueRecovery:
    def __init__(
        self, queue: JobQueue, store: JobStore, min_age_seconds: float = 60, lock_seconds: int = 60
    ) -> None:
        self.queue = queue
        self.store = store
        self.min_age = timedelta(seconds=min_age_seconds)
        self.lock_seconds = lock_seconds

    def run(self, data_lost: bool) -> int | None:
        """Recreate the groups and re-enqueue unfinished jobs that no stream holds.
        Returns how many, or None when another worker is already at it."""
        if not self.queue.begin_recovery(self.lock_seconds):
            return None
        completed = False
        try:
            self.queue.ensure_groups()
            present = self.queue.job_ids()
            cutoff = None if data_lost else datetime.now(UTC) - self.min_age
            missing = [
                message
                for message in self.store.unfinished(created_before=cutoff)
                if str(message.job_id) not in present
            ]
            for message in missing:
                self.queue.enqueue(message)
            completed = True
        finally:
            self.queue.end_recovery(completed)
        if missing or data_lost:
            logger.warning("queue recovered data_lost=%s requeued=%d", data_lost, len(missing))
        return len(missing)
