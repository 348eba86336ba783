"""The generation job queue: Redis Streams, one stream per tier, one consumer group.

Shared by the API (producer) and the GPU worker (consumer).

Streams and group
    ``{prefix}:{tier}`` for tier in free, basic, pro (default prefix ``{pingvas:jobs}``);
    consumer group ``gpu-workers``, created from id ``0`` so entries added before the
    group existed are still delivered. Dead letters go to ``{prefix}:dead``. The prefix
    must hold a hash tag (app/core/redis_clients.py): reads span the tier streams and
    acknowledging a dead letter is one transaction over two streams, so in cluster mode
    every queue key must share one slot.

Message (version 1): every field is a string.
    ``v``                "1"
    ``job_id``           UUID of the row in ``jobs`` (the source of truth)
    ``user_id``          UUID of the owner; the worker sets ``app.user_id`` to it (RLS)
    ``tier``             free | basic | pro (equals the stream's tier)
    ``model``            model id: folder name under ``MODELS_DIR``
    ``prompt``, ``negative_prompt`` (may be empty)
    ``width``, ``height``, ``steps``, ``num_images``, ``seed``  integers
    ``guidance_scale``   float
                         (the fields of :class:`app.core.generation.GenerationParams`)
    ``cost``             credits debited; refunded (ledger key
                         :func:`app.store.ledger.refund_key`) when the job fails or is
                         dead-lettered
    ``enqueued_at``      ISO-8601 UTC timestamp

Consumer protocol (worker)
    1. :meth:`JobQueue.read` (XREADGROUP ``>``), highest tier first; also
       :meth:`JobQueue.claim_stale` (XAUTOCLAIM) to take over entries whose consumer died.
       A batching worker looks at what waits behind its entry (:meth:`JobQueue.peek_waiting`)
       and reads only the compatible entries at the head of the stream.
    2. Move the job ``queued -> running`` with a conditional UPDATE; if that matches no
       row the job was canceled (or already finished): just :meth:`JobQueue.ack`.
    3. While rendering, call :meth:`JobQueue.heartbeat` more often than the reclaim idle
       time so nobody else claims the entry; a worker told to stop mid-job
       :meth:`JobQueue.release` s it for immediate reclaim.
    4. Upload to S3, commit the images and ``succeeded`` row, then :meth:`JobQueue.ack`
       (XACK + XDEL: the stream holds only unfinished work, so XLEN is the queue length).
    5. After ``max_deliveries`` (see ``Delivery.delivery_count``), fail the job, refund,
       and :meth:`JobQueue.dead_letter`. An entry that is not a readable message is
       dead-lettered by :meth:`JobQueue.read` / :meth:`JobQueue.claim_stale` themselves.

Recovery (Redis is a cache of the queue; the ``jobs`` table is the truth)
    A Redis that restarted empty, or a replica promoted without the streams, loses the
    consumer group (reads answer ``NOGROUP``) and every queued entry. A worker that sees
    ``NOGROUP``, or finds ``{prefix}:intact`` missing (:meth:`JobQueue.data_lost`; the
    key is set by the last recovery), takes ``{prefix}:recovering`` (SET NX, one worker
    at a time), recreates the groups and re-enqueues every queued or running job whose
    id is not in a stream (:meth:`JobQueue.job_ids`), then sets the marker. A duplicate
    message is harmless: every state change matches on the status it expects.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import redis

from app.core.generation import GenerationParams
from app.core.redis_clients import AsyncPipeline, AsyncRedis, SyncRedis, require_tag

TIERS: tuple[str, ...] = ("free", "basic", "pro")
PRIORITY: tuple[str, ...] = ("pro", "basic", "free")
MESSAGE_VERSION = "1"
DEFAULT_PREFIX = "{pingvas:jobs}"
DEFAULT_GROUP = "gpu-workers"
# Idle time given to a released entry: longer than any reclaim threshold.
RELEASED_IDLE_MS = 365 * 24 * 3600 * 1000


@dataclass(frozen=True)
class JobMessage:
    job_id: uuid.UUID
    user_id: uuid.UUID
    tier: str
    params: GenerationParams
    cost: int
    enqueued_at: datetime
    # The API request that created the job, for the worker's logs ("" when unknown).
    request_id: str = ""

    def to_fields(self) -> dict[str, str]:
        return {
            "v": MESSAGE_VERSION,
            "job_id": str(self.job_id),
            "user_id": str(self.user_id),
            "tier": self.tier,
            **self.params.to_fields(),
            "cost": str(self.cost),
            "enqueued_at": self.enqueued_at.astimezone(UTC).isoformat(),
            "request_id": self.request_id,
        }

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> JobMessage:
        if fields.get("v") != MESSAGE_VERSION:
            raise ValueError(f"unsupported job message version {fields.get('v')!r}")
        return cls(
            job_id=uuid.UUID(fields["job_id"]),
            user_id=uuid.UUID(fields["user_id"]),
            tier=fields["tier"],
            params=GenerationParams.from_fields(fields),
            cost=int(fields["cost"]),
            enqueued_at=datetime.fromisoformat(fields["enqueued_at"]),
            request_id=fields.get("request_id", ""),
        )


@dataclass(frozen=True)
class Delivery:
    """One entry handed to a consumer."""

    stream: str
    message_id: str
    message: JobMessage
    delivery_count: int


class JobQueue:
    def __init__(
        self,
        client: SyncRedis,
        prefix: str = DEFAULT_PREFIX,
        group: str = DEFAULT_GROUP,
    ) -> None:
        if not client.get_encoder().decode_responses:
            raise ValueError("JobQueue needs a Redis client with decode_responses=True")
        require_tag(prefix, "queue prefix")
        self.redis = client
        self.prefix = prefix
        self.group = group

    def stream(self, tier: str) -> str:
        if tier not in TIERS:
            raise ValueError(f"unknown tier {tier!r}")
        return f"{self.prefix}:{tier}"

    @property
    def dead_letter_stream(self) -> str:
        return f"{self.prefix}:dead"

    @property
    def intact_marker(self) -> str:
        return f"{self.prefix}:intact"

    def ensure_groups(self) -> list[str]:
        """Create the tier streams' consumer group where missing; returns the streams
        whose group had to be created."""
        created = []
        for tier in TIERS:
            try:
                self.redis.xgroup_create(self.stream(tier), self.group, id="0", mkstream=True)
                created.append(self.stream(tier))
            except redis.ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise
        return created

    def data_lost(self) -> bool:
        """True when the marker left by the last recovery is gone: Redis lost its data."""
        return not self.redis.exists(self.intact_marker)

    def begin_recovery(self, lock_seconds: int) -> bool:
        """Take the recovery lock; False when another worker holds it."""
        return bool(self.redis.set(f"{self.prefix}:recovering", "1", nx=True, ex=lock_seconds))

    def end_recovery(self, completed: bool) -> None:
        pipeline = self.redis.pipeline(transaction=True)
        if completed:
            pipeline.set(self.intact_marker, datetime.now(UTC).isoformat())
        pipeline.delete(f"{self.prefix}:recovering")
        pipeline.execute()

    def job_ids(self, page: int = 1000) -> set[str]:
        """Job ids of every entry still in a tier stream (waiting or pending)."""
        found: set[str] = set()
        for tier in TIERS:
            start = "-"
            while True:
                entries = cast(
                    list[tuple[str, dict[str, str]]],
                    self.redis.xrange(self.stream(tier), min=start, count=page),
                )
                found.update(fields.get("job_id", "") for _, fields in entries)
                if len(entries) < page:
                    break
                start = "(" + entries[-1][0]
        return found

    # Producer side (API) -------------------------------------------------------------

    def enqueue(self, message: JobMessage) -> str:
        fields = cast(Any, message.to_fields())
        return cast(str, self.redis.xadd(self.stream(message.tier), fields))

    async def enqueue_with(
        self,
        client: AsyncRedis,
        message: JobMessage,
        extra: Callable[[AsyncPipeline], None],
    ) -> str:
        """XADD plus best-effort commands ``extra`` queues on the pipeline (a metric), in
        one round trip, from the event loop: ``client`` is a redis.asyncio client of the
        same server. Only the XADD's failure raises: the others' errors are the caller's
        to ignore."""
        pipeline = client.pipeline(transaction=False)
        pipeline.xadd(self.stream(message.tier), cast(Any, message.to_fields()))
        extra(pipeline)
        added = (await pipeline.execute(raise_on_error=False))[0]
        if isinstance(added, Exception):
            raise added
        return cast(str, added)

    def lengths(self) -> dict[str, int]:
        """Unfinished entries per tier (consumers delete what they acknowledge)."""
        pipeline = self.redis.pipeline(transaction=False)
        for tier in TIERS:
            pipeline.xlen(self.stream(tier))
        return dict(zip(TIERS, (int(n) for n in pipeline.execute()), strict=True))

    # Consumer side (GPU worker) ------------------------------------------------------

    def read(
        self,
        consumer: str,
        count: int = 1,
        block_ms: int | None = None,
        order: Sequence[str] = PRIORITY,
    ) -> list[Delivery]:
        """New entries for this consumer, tiers tried in ``order`` (highest tier first by
        default); blocks on all tiers if idle."""
        for tier in order:
            while True:
                entries = self._read({self.stream(tier): ">"}, consumer, count, None)
                found = [delivery for delivery in entries if delivery is not None]
                if found:
                    return found
                if not entries:
                    break  # this tier is empty; else only unreadable entries: read on
        if block_ms is None:
            return []
        entries = self._read({self.stream(t): ">" for t in order}, consumer, count, block_ms)
        return [delivery for delivery in entries if delivery is not None]

    def peek_waiting(self, tier: str, count: int) -> list[JobMessage | None]:
        """Up to ``count`` entries of the tier not yet delivered to the group, oldest
        first, without taking them (XINFO GROUPS' last-delivered id, then XRANGE); None
        in place of an unreadable entry. What the next :meth:`read` of the tier would
        deliver, unless another consumer reads first."""
        if count < 1:
            return []
        stream = self.stream(tier)
        groups: list[dict[str, Any]] = self.redis.xinfo_groups(stream)
        last = next((g["last-delivered-id"] for g in groups if g["name"] == self.group), None)
        if last is None:
            return []
        entries = cast(
            list[tuple[str, dict[str, str]]],
            self.redis.xrange(stream, min=f"({last}", count=count),
        )
        peeked: list[JobMessage | None] = []
        for _, fields in entries:
            try:
                peeked.append(JobMessage.from_fields(fields))
            except (KeyError, ValueError):
                peeked.append(None)
        return peeked

    def wait_for_new(self, block_ms: int) -> bool:
        """Block until an entry is added to any tier stream (or ``block_ms`` passes),
        without taking it: the caller then reads in its own tier order, one entry at a
        time, instead of holding one entry per stream that other workers could run."""
        streams = {self.stream(tier): "$" for tier in TIERS}
        return bool(self.redis.xread(cast(Any, streams), count=1, block=block_ms))

    def claim_stale(
        self, consumer: str, tier: str, min_idle_ms: int, count: int = 1
    ) -> list[Delivery]:
        """Take over entries another consumer left idle for ``min_idle_ms`` (XAUTOCLAIM)."""
        stream = self.stream(tier)
        response = self.redis.xautoclaim(
            stream, self.group, consumer, min_idle_time=min_idle_ms, start_id="0-0", count=count
        )
        entries = response[1]
        deliveries = []
        for message_id, fields in entries:
            if fields is None:  # deleted while pending
                continue
            pending = self.redis.xpending_range(
                stream, self.group, min=message_id, max=message_id, count=1
            )
            times = int(cast(Any, pending)[0]["times_delivered"]) if pending else 1
            message = self._parse(stream, message_id, fields)
            if message is not None:
                deliveries.append(Delivery(stream, message_id, message, times))
        return deliveries

    def heartbeat(self, delivery: Delivery, consumer: str) -> None:
        """Reset the entry's idle time so :meth:`claim_stale` leaves it alone."""
        self.redis.xclaim(
            delivery.stream,
            self.group,
            consumer,
            min_idle_time=0,
            message_ids=[delivery.message_id],
            justid=True,
        )

    def release(self, delivery: Delivery, consumer: str) -> None:
        """Hand an unfinished entry back: it stays pending (not acknowledged) but looks
        idle for a long time, so the next :meth:`claim_stale` anywhere takes it at once.
        For a worker that stops mid-job (SIGTERM); JUSTID keeps the delivery count."""
        self.redis.xclaim(
            delivery.stream,
            self.group,
            consumer,
            min_idle_time=0,
            message_ids=[delivery.message_id],
            idle=RELEASED_IDLE_MS,
            justid=True,
        )

    def ack(self, delivery: Delivery) -> None:
        pipeline = self.redis.pipeline(transaction=True)
        pipeline.xack(delivery.stream, self.group, delivery.message_id)
        pipeline.xdel(delivery.stream, delivery.message_id)
        pipeline.execute()

    def dead_letter(self, delivery: Delivery, reason: str) -> None:
        fields = {
            **delivery.message.to_fields(),
            "reason": reason,
            "source_stream": delivery.stream,
            "source_id": delivery.message_id,
            "deliveries": str(delivery.delivery_count),
        }
        pipeline = self.redis.pipeline(transaction=True)
        pipeline.xadd(self.dead_letter_stream, cast(Any, fields))
        pipeline.xack(delivery.stream, self.group, delivery.message_id)
        pipeline.xdel(delivery.stream, delivery.message_id)
        pipeline.execute()

    def _read(
        self, streams: dict[str, str], consumer: str, count: int, block_ms: int | None
    ) -> list[Delivery | None]:
        """One XREADGROUP; None in place of each unreadable entry (dead-lettered)."""
        response = self.redis.xreadgroup(
            self.group, consumer, cast(Any, streams), count=count, block=block_ms
        )
        deliveries: list[Delivery | None] = []
        for stream, entries in _stream_entries(response):
            for message_id, fields in entries:
                message = self._parse(stream, message_id, fields)
                deliveries.append(
                    None if message is None else Delivery(stream, message_id, message, 1)
                )
        return deliveries

    def _parse(self, stream: str, message_id: str, fields: Mapping[str, str]) -> JobMessage | None:
        """The message, or None after moving an unreadable entry (unknown version, missing
        or malformed field) to the dead-letter stream: redelivering it cannot help."""
        try:
            return JobMessage.from_fields(fields)
        except (KeyError, ValueError) as error:
            dead = {
                **fields,
                "reason": f"unreadable message: {error!r}"[:500],
                "source_stream": stream,
                "source_id": message_id,
            }
            pipeline = self.redis.pipeline(transaction=True)
            pipeline.xadd(self.dead_letter_stream, cast(Any, dead))
            pipeline.xack(stream, self.group, message_id)
            pipeline.xdel(stream, message_id)
            pipeline.execute()
            return None


def is_missing_group(error: redis.ResponseError) -> bool:
    """The consumer group (or its stream) is gone: Redis lost its data."""
    return str(error).startswith("NOGROUP")


def _stream_entries(response: Any) -> Iterable[tuple[str, list[Any]]]:
    # redis-py answers a list of [stream, entries] pairs (RESP2) or a dict (RESP3).
    if not response:
        return []
    if isinstance(response, dict):
        return list(response.items())
    return [(stream, entries) for stream, entries in response]
