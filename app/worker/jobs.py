"""The worker's side of the ``jobs`` table: conditional, forward-only state changes.

Every change runs in a transaction scoped to the job's owner (row-level security applies
to the worker as it does to the API) and matches on the status it expects, so a change
that lost a race (a cancel, another worker, a replayed delivery) changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert

from app import ledger
from app.core.database import Database
from app.core.job_errors import JOB_ERRORS, JobErrorCode
from app.core.queue import JobMessage
from app.core.storage import image_key
from app.models import Image, Job


@dataclass(frozen=True)
class PlannedImage:
    id: uuid.UUID
    s3_key: str


def planned_images(message: JobMessage) -> list[PlannedImage]:
    """Image ids and S3 keys derived from the job id alone: a retried job writes the same
    keys (overwriting) and the same rows (no duplicates)."""
    images = []
    for index in range(message.num_images):
        image_id = uuid.uuid5(message.job_id, f"image-{index}")
        images.append(PlannedImage(image_id, image_key(image_id)))
    return images


def worker_database(url: str, schema: str, pool_size: int = 2) -> Database:
    """The worker's connections, pre-pinged at checkout: after a PostgreSQL restart or
    failover a stale pooled connection is replaced instead of failing a finished render's
    final commit."""
    return Database(url, schema, pool_size=pool_size, pre_ping=True)


class JobStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def start(self, message: JobMessage) -> str | None:
        """``queued -> running``; a job left ``running`` by a dead worker is taken over.
        Returns None when the job is ours to run, else its (final) status: canceled,
        failed or succeeded, or ``missing``."""
        with self.db.transaction(message.user_id) as session:
            started = session.execute(
                update(Job)
                .where(
                    Job.id == message.job_id,
                    Job.user_id == message.user_id,
                    Job.status.in_(("queued", "running")),
                )
                .values(status="running")
                .returning(Job.id)
                .execution_options(synchronize_session=False)
            ).scalar_one_or_none()
            if started is not None:
                return None
            status = session.execute(
                select(Job.status).where(Job.id == message.job_id)
            ).scalar_one_or_none()
            return status or "missing"

    def complete(self, message: JobMessage, images: list[PlannedImage]) -> bool:
        """Record the images and ``running -> succeeded`` in one transaction. False (and
        nothing recorded) when the job is no longer running, e.g. it was failed meanwhile."""
        with self.db.transaction(message.user_id) as session:
            succeeded = session.execute(
                update(Job)
                .where(Job.id == message.job_id, Job.status == "running")
                .values(status="succeeded", error=None)
                .returning(Job.id)
                .execution_options(synchronize_session=False)
            ).scalar_one_or_none()
            if succeeded is None:
                return False
            session.execute(
                insert(Image)
                .values(
                    [
                        {
                            "id": image.id,
                            "user_id": message.user_id,
                            "job_id": message.job_id,
                            "s3_key": image.s3_key,
                            "width": message.width,
                            "height": message.height,
                        }
                        for image in images
                    ]
                )
                .on_conflict_do_nothing()
            )
            return True

    def fail(self, message: JobMessage, code: JobErrorCode) -> int:
        """``queued|running -> failed`` with the code and its stable message, and refund
        the job's cost (ledger key ``refund:<job>``, so at most once). Returns the credits
        refunded: 0 when the job had already reached a final state."""
        with self.db.transaction(message.user_id) as session:
            cost = session.execute(
                update(Job)
                .where(Job.id == message.job_id, Job.status.in_(("queued", "running")))
                .values(status="failed", error=JOB_ERRORS[code], error_code=code)
                .returning(Job.cost)
                .execution_options(synchronize_session=False)
            ).scalar_one_or_none()
            if cost is None:
                return 0
            ledger.apply(
                session, message.user_id, cost, f"refund:{message.job_id}", "refund", message.job_id
            )
            return cost

    def unfinished(self, created_before: datetime | None = None) -> list[JobMessage]:
        """Queue messages for every queued or running job (of every user, through the
        ``jobs_to_requeue`` definer function), optionally only those created before a
        time. For re-enqueueing after Redis lost the queue."""
        with self.db.transaction(None, read_only=True) as session:
            rows = session.execute(text("SELECT * FROM jobs_to_requeue()")).all()
        now = datetime.now(UTC)
        return [
            JobMessage(
                job_id=row.id,
                user_id=row.user_id,
                tier=row.tier,
                model=row.model,
                prompt=row.prompt,
                negative_prompt=row.negative_prompt,
                width=row.width,
                height=row.height,
                steps=row.steps,
                guidance_scale=row.guidance_scale,
                seed=row.seed,
                num_images=row.num_images,
                cost=row.cost,
                enqueued_at=now,
            )
            for row in rows
            if created_before is None or row.created_at < created_before
        ]
