"""The ``jobs`` table's writes: a job's creation (with its debit) and its conditional,
forward-only state changes (with their refund).

Every change runs in a transaction scoped to the job's owner (row-level security applies
to the worker as it does to the API) and matches on the status it expects, so a change
that lost a race (a cancel, another worker, a replayed delivery) changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.core.database import Database
from app.core.generation import GenerationParams
from app.core.job_errors import JOB_ERRORS, JobErrorCode
from app.core.queue import JobMessage
from app.core.storage import image_key
from app.models import Image, Job
from app.store import ledger

# create_job (migration 0002) names each argument after its field with a ``p_`` prefix:
# named notation keeps this call in step with GenerationParams without a second list.
# The names are identifiers of this module and the dataclass, never input.
_CREATE_JOB_ARGS = ("user_id", "job_id", "allowed_tiers", "price", *GenerationParams.names())
CREATE_JOB = "SELECT outcome, tier, balance FROM create_job({})".format(  # noqa: S608
    ", ".join(f"p_{name} => %({name})s" for name in _CREATE_JOB_ARGS)
)


@dataclass(frozen=True)
class Created:
    """create_job's answer. ``outcome``: ``queued`` (debited and recorded), ``credits``
    (balance short), ``tier`` (above the tier's bounds) or ``unknown`` (no such user)."""

    outcome: str
    tier: str | None
    balance: int | None


class JobNotFound(LookupError):
    """No such job of this user."""


class NotCancelable(Exception):
    """The job is past ``queued``: a worker has it, or it is final."""

    def __init__(self, status: str) -> None:
        super().__init__(f"only queued jobs can be canceled; this one is {status}")
        self.status = status


@dataclass(frozen=True)
class Started:
    """:meth:`JobStore.start`'s answer: the row's parameters when the job is now ours to
    render, else why not (``status``: canceled, failed, succeeded, missing, or
    ``leased``: another live worker is rendering it)."""

    params: GenerationParams | None
    status: str


@dataclass(frozen=True)
class PlannedImage:
    id: uuid.UUID
    s3_key: str


def planned_images(message: JobMessage) -> list[PlannedImage]:
    """Image ids and S3 keys derived from the job id alone: a retried job writes the same
    keys (overwriting) and the same rows (no duplicates)."""
    images = []
    for index in range(message.params.num_images):
        image_id = uuid.uuid5(message.job_id, f"image-{index}")
        images.append(PlannedImage(image_id, image_key(image_id)))
    return images


def _refund(session: Session, user_id: uuid.UUID, job_id: uuid.UUID, cost: int) -> int:
    """Refund a job that just reached ``failed`` or ``canceled``; returns the credits.

    Nothing the ledger says keeps the job from its final state: a refund adds credits,
    which the ledger takes at any balance (negative too), and one already recorded (a
    refund that won an earlier race) rolls back only its savepoint, not the status."""
    try:
        with session.begin_nested():
            ledger.apply(session, user_id, cost, ledger.refund_key(job_id), "refund", job_id)
    except ledger.AlreadyRecorded:
        return 0
    return cost


def _create_args(
    user_id: uuid.UUID,
    job_id: uuid.UUID,
    params: GenerationParams,
    price: int,
    allowed_tiers: list[str],
) -> dict[str, object]:
    return {
        "user_id": user_id,
        "job_id": job_id,
        "allowed_tiers": allowed_tiers,
        "price": price,
        **params.to_columns(),
    }


def _created(row: Any) -> Created:
    if row is None:
        return Created("unknown", None, None)
    return Created(row.outcome, row.tier, row.balance)


class JobStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        user_id: uuid.UUID,
        job_id: uuid.UUID,
        params: GenerationParams,
        price: int,
        allowed_tiers: list[str],
    ) -> Created:
        """The debit, its ledger entry and the ``queued`` row: one statement, one round
        trip. ``allowed_tiers``: the tiers whose bounds admit ``params``."""
        return _created(
            self.db.call(CREATE_JOB, _create_args(user_id, job_id, params, price, allowed_tiers))
        )

    async def create_async(
        self,
        user_id: uuid.UUID,
        job_id: uuid.UUID,
        params: GenerationParams,
        price: int,
        allowed_tiers: list[str],
    ) -> Created:
        """:meth:`create` from the event loop (the API's hot path: no worker thread)."""
        args = _create_args(user_id, job_id, params, price, allowed_tiers)
        return _created(await self.db.statements.one(CREATE_JOB, args))

    def cancel(self, user_id: uuid.UUID, job_id: uuid.UUID) -> int:
        """``queued -> canceled`` and refund it; returns the credits refunded. Raises
        :class:`JobNotFound` or :class:`NotCancelable`."""
        with self.db.transaction(user_id) as session:
            price = session.execute(
                update(Job)
                .where(Job.id == job_id, Job.user_id == user_id, Job.status == "queued")
                .values(status="canceled")
                .returning(Job.cost)
                .execution_options(synchronize_session=False)
            ).scalar_one_or_none()
            if price is None:
                current = session.execute(
                    select(Job.status).where(Job.id == job_id, Job.user_id == user_id)
                ).scalar_one_or_none()
                if current is None:
                    raise JobNotFound(str(job_id))
                raise NotCancelable(current)
            return _refund(session, user_id, job_id, price)

    def start(self, message: JobMessage, owner: str, lease_seconds: float) -> Started:
        """``queued -> running`` under a lease for ``owner``; a ``running`` job is taken
        over only when its lease has expired (its worker died) or is ``owner``'s. The
        parameters to render are the row's, never the message's: a message rewritten in
        Redis cannot change what is rendered (or how many images one debit buys)."""
        lease_free = or_(
            Job.lease_expires_at.is_(None),
            Job.lease_expires_at < func.now(),
            Job.lease_owner == owner,
        )
        with self.db.transaction(message.user_id) as session:
            row = session.execute(
                update(Job)
                .where(
                    Job.id == message.job_id,
                    Job.user_id == message.user_id,
                    or_(Job.status == "queued", (Job.status == "running") & lease_free),
                )
                .values(
                    status="running",
                    lease_owner=owner,
                    lease_expires_at=func.now() + timedelta(seconds=lease_seconds),
                )
                .returning(*(getattr(Job, name) for name in GenerationParams.names()))
                .execution_options(synchronize_session=False)
            ).one_or_none()
            if row is not None:
                columns = row._asdict()
                columns["negative_prompt"] = columns["negative_prompt"] or ""
                return Started(GenerationParams(**columns), "running")
            status = session.execute(
                select(Job.status).where(Job.id == message.job_id)
            ).scalar_one_or_none()
            if status == "running":
                return Started(None, "leased")
            return Started(None, status or "missing")

    def renew(self, message: JobMessage, owner: str, lease_seconds: float) -> bool:
        """Extend ``owner``'s lease on a running job (the heartbeat); False when the job
        is no longer running under it."""
        with self.db.transaction(message.user_id) as session:
            renewed = session.execute(
                update(Job)
                .where(
                    Job.id == message.job_id,
                    Job.status == "running",
                    Job.lease_owner == owner,
                )
                .values(lease_expires_at=func.now() + timedelta(seconds=lease_seconds))
                .returning(Job.id)
                .execution_options(synchronize_session=False)
            ).scalar_one_or_none()
            return renewed is not None

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
                            "width": message.params.width,
                            "height": message.params.height,
                        }
                        for image in images
                    ]
                )
                .on_conflict_do_nothing()
            )
            return True

    def fail(self, message: JobMessage, code: JobErrorCode) -> int:
        """``queued|running -> failed`` with the code and its stable message, and refund
        the job's cost (under :func:`ledger.refund_key`, so at most once). Returns the
        credits refunded: 0 when the job had already reached a final state."""
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
            return _refund(session, message.user_id, message.job_id, cost)

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
                params=GenerationParams.from_row(row),
                cost=row.cost,
                enqueued_at=now,
            )
            for row in rows
            if created_before is None or row.created_at < created_before
        ]
