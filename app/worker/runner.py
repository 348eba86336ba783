"""The worker loop: jobs acknowledged only once their result is durable, several
compatible ones per pipeline call when ``batch_size`` allows (docs/worker.md "Batching";
every step below stays per job).

For each delivery:
  1. more than ``max_deliveries`` deliveries: fail the job, refund it once, dead-letter
     the entry (the job keeps crashing workers, or keeps failing transiently);
  2. ``queued|running -> running`` (conditional) under a lease in the job row; no match
     means canceled, already final, or rendered by another live worker (its lease):
     acknowledge and skip;
  3. render the row's parameters (not the message's) with a heartbeat thread keeping
     the entry and the lease ours;
  4. PNGs to S3 under keys derived from the job id (a retry overwrites);
  5. images + ``succeeded`` in one transaction; then XACK.
A job the worker cannot run (unknown model, invalid size) fails and is refunded at once.
PostgreSQL or S3 out of reach is not the job's fault: the worker keeps the entry
(heartbeat on), takes nothing new and retries that step with backoff until the service
is back, so an outage costs no attempt. Any other error leaves the entry pending: it is
reclaimed after the idle timeout and counts as a delivery. Redis that lost the queue is
recovered from PostgreSQL (app.worker.recovery). On stop (SIGTERM) the worker takes no
new job and finishes the current one if it fits the grace period; otherwise it releases
the entry for immediate reclaim and exits.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from functools import partial
from typing import TypeVar

import redis

from app.core import logging as log_context
from app.core.generation import GenerationParams
from app.core.job_errors import JobErrorCode
from app.core.queue import PRIORITY, Delivery, JobMessage, JobQueue, is_missing_group
from app.core.storage import ImageStorage
from app.store.jobs import JobStore, planned_images
from app.worker.metrics import CREDITS_REFUNDED, GENERATION_DURATION, JOBS
from app.worker.outages import is_unavailable
from app.worker.pipelines import (
    InvalidRequest,
    ModelUnavailable,
    PipelineCache,
    StepCallback,
    batch_key,
    check_request,
    render_batch,
)
from app.worker.recovery import QueueRecovery
from app.worker.scheduling import TierSchedule

logger = logging.getLogger(__name__)
ERROR_BACKOFF_SECONDS = 2.0
T = TypeVar("T")


class StopBeforeDeadline(Exception):
    """Stopping, and the current job would not finish within the grace period."""


@dataclass(frozen=True)
class WorkerOptions:
    consumer: str
    reclaim_idle_seconds: float = 60
    heartbeat_seconds: float = 10
    max_deliveries: int = 3
    grace_seconds: float = 25
    block_ms: int = 1000
    # Most images one pipeline call renders (compatible queued jobs batched up to it).
    batch_size: int = 1
    # Seconds to store and record the result after the last step (S3 + PostgreSQL).
    finishing_margin_seconds: float = 1.0
    # Longest wait between two tries of a step while PostgreSQL or S3 is unreachable.
    unavailable_backoff_max_seconds: float = 30
    # Sweep for unfinished jobs missing from Redis this often (and at once on data loss).
    requeue_sweep_seconds: float = 300

    @property
    def lease_seconds(self) -> float:
        """The job row's lease: renewed every heartbeat (at most half the reclaim idle
        time), and expired before a dead worker's entry is reclaimed, so the reclaiming
        worker always finds the job free."""
        return self.reclaim_idle_seconds * 0.75


class Worker:
    def __init__(
        self,
        queue: JobQueue,
        store: JobStore,
        storage: ImageStorage,
        pipelines: PipelineCache,
        schedule: TierSchedule,
        options: WorkerOptions,
        on_step: StepCallback | None = None,
    ) -> None:
        self.queue = queue
        self.store = store
        self.storage = storage
        self.pipelines = pipelines
        self.schedule = schedule
        self.options = options
        self.on_step = on_step
        self.recovery = QueueRecovery(queue, store)
        self._stop = threading.Event()
        self._deadline = float("inf")
        self._next_reclaim = 0.0
        # The first sweep one period after start: a lost Redis is caught at once by its
        # marker; the sweep is for the rarer message that never reached Redis.
        self._next_sweep = time.monotonic() + options.requeue_sweep_seconds
        self._consuming = False

    @property
    def consuming(self) -> bool:
        """The last cycle reached Redis and PostgreSQL (readiness of the worker)."""
        return self._consuming and not self.stopping

    @property
    def consumer(self) -> str:
        return self.options.consumer

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def request_stop(self) -> None:
        """Take no new job; the current one must finish within the grace period.
        Safe to call from a signal handler."""
        if not self._stop.is_set():
            self._deadline = time.monotonic() + self.options.grace_seconds
            self._stop.set()

    def run(self) -> None:
        # No set-up that needs Redis here: the first cycle recovers the queue if it must
        # (groups missing, data lost), and a Redis still starting is retried like any error.
        logger.info("worker ready consumer=%s", self.consumer)
        while not self.stopping:
            try:
                self.run_batch()
                self._consuming = True
            except redis.ResponseError as error:
                self._consuming = False
                if not is_missing_group(error):
                    logger.exception("worker loop error; retrying in %.0f s", ERROR_BACKOFF_SECONDS)
                    self._stop.wait(ERROR_BACKOFF_SECONDS)
                    continue
                logger.warning("queue lost its consumer group (Redis lost its data)")
                self._recover(data_lost=True)
            except Exception:
                # Redis or PostgreSQL away: whatever was taken stays pending for reclaim.
                self._consuming = False
                logger.exception("worker loop error; retrying in %.0f s", ERROR_BACKOFF_SECONDS)
                self._stop.wait(ERROR_BACKOFF_SECONDS)
        logger.info("worker stopped consumer=%s", self.consumer)

    def run_once(self, block_ms: int | None = None) -> str | None:
        """Handle at most one delivery, unbatched; returns its outcome (None when idle)."""
        outcomes = self.run_batch(block_ms, limit=1)
        return outcomes[0] if outcomes else None

    def run_batch(self, block_ms: int | None = None, limit: int | None = None) -> list[str]:
        """Handle one delivery and the compatible jobs queued right behind it (up to
        ``limit`` images, default ``batch_size``); returns their outcomes ([] when idle)."""
        deliveries = self.next_deliveries(self.options.batch_size if limit is None else limit)
        if not deliveries:
            wait = self.options.block_ms if block_ms is None else block_ms
            if wait > 0 and not self.stopping:
                self.queue.wait_for_new(wait)
            return []
        return self.handle_batch(deliveries)

    def next_delivery(self) -> Delivery | None:
        """A stale entry of a dead worker first (it has waited longest), then a new entry
        in the schedule's tier order."""
        now = time.monotonic()
        if now >= self._next_reclaim:
            # Checking a quarter of the idle time apart bounds the takeover delay.
            self._next_reclaim = now + self.options.reclaim_idle_seconds / 4
            if self.queue.data_lost():
                self._recover(data_lost=True)
            elif now >= self._next_sweep:
                self._recover(data_lost=False)
            idle_ms = int(self.options.reclaim_idle_seconds * 1000)
            for tier in PRIORITY:
                claimed = self.queue.claim_stale(self.consumer, tier, idle_ms)
                if claimed:
                    self._next_reclaim = now  # there may be more
                    return claimed[0]
        found = self.queue.read(self.consumer, order=self.schedule.next_order())
        return found[0] if found else None

    def next_deliveries(self, limit: int) -> list[Delivery]:
        """:meth:`next_delivery`, then the entries waiting right behind it in its tier's
        stream as long as they share its batch key and fit in ``limit`` images. Only
        those are taken, so the worker holds no entry it will not render in this batch
        (one taken in a race with another worker is rendered in a batch of its own)."""
        first = self.next_delivery()
        if first is None:
            return []
        key = batch_key(first.message.params)
        room = limit - first.message.params.num_images
        companions = 0
        for message in self.queue.peek_waiting(first.message.tier, max(room, 0)):
            if message is None or batch_key(message.params) != key:
                break
            if message.params.num_images > room:
                break
            room -= message.params.num_images
            companions += 1
        if not companions:
            return [first]
        tier = [first.message.tier]
        return [first, *self.queue.read(self.consumer, count=companions, order=tier)]

    def handle(self, delivery: Delivery) -> str:
        return self.handle_batch([delivery])[0]

    def handle_batch(self, deliveries: list[Delivery]) -> list[str]:
        """Start each job on its own, render those of one batch key in one pipeline call,
        then store, record and acknowledge each on its own: one job's failure leaves the
        others' outcomes alone. Returns the outcomes in the deliveries' order."""
        outcomes: dict[str, str] = {}
        # Entries still ours to finish: kept alive by the heartbeat, released on stop.
        in_hand = {delivery.message_id: delivery for delivery in deliveries}
        with self._heartbeat(in_hand):
            try:
                started: list[tuple[Delivery, JobMessage]] = []
                for delivery in deliveries:
                    with _bound(delivery.message):
                        outcome, message = self._begin(delivery)
                    if outcome is None:
                        started.append((delivery, message))
                    else:
                        outcomes[delivery.message_id] = outcome
                        del in_hand[delivery.message_id]
                for group in self._groups(started):
                    outcomes.update(self._render_group(group, in_hand))
            except StopBeforeDeadline:
                for delivery in list(in_hand.values()):
                    with _bound(delivery.message):
                        self.queue.release(delivery, self.consumer)
                        self._end_lease(delivery.message)
                        logger.warning(
                            "job abandoned job_id=%s (stopping; released for reclaim)",
                            delivery.message.job_id,
                        )
                    outcomes[delivery.message_id] = self._outcome("abandoned")
                in_hand.clear()
        return [outcomes[delivery.message_id] for delivery in deliveries]

    def _begin(self, delivery: Delivery) -> tuple[str | None, JobMessage]:
        """Dead-letter, skip or start the job; (None, the row's job) when it is ours to
        render, else (its outcome, the message)."""
        message = delivery.message
        job = message.job_id
        try:
            if delivery.delivery_count > self.options.max_deliveries:
                return self._dead_letter(delivery), message
            taken = self._until_available(
                lambda: self.store.start(message, self.consumer, self.options.lease_seconds)
            )
        except StopBeforeDeadline:
            raise
        except Exception:
            logger.exception("job error job_id=%s; left pending for reclaim", job)
            return self._outcome("retry"), message
        if taken.params is None:
            logger.info("job skipped job_id=%s status=%s", job, taken.status)
            self.queue.ack(delivery)
            return self._outcome("skipped"), message
        logger.info(
            "job started job_id=%s tier=%s model=%s delivery=%d",
            job,
            message.tier,
            taken.params.model,
            delivery.delivery_count,
        )
        return None, replace(message, params=taken.params)

    def _groups(
        self, started: list[tuple[Delivery, JobMessage]]
    ) -> list[list[tuple[Delivery, JobMessage]]]:
        """The started jobs by batch key of the row's parameters (the messages' may have
        been rewritten), each group at most ``batch_size`` images, in delivery order."""
        groups: dict[tuple[object, ...], list[list[tuple[Delivery, JobMessage]]]] = {}
        for job in started:
            chunks = groups.setdefault(batch_key(job[1].params), [[]])
            images = sum(message.params.num_images for _, message in chunks[-1])
            if chunks[-1] and images + job[1].params.num_images > self.options.batch_size:
                chunks.append([])
            chunks[-1].append(job)
        return [chunk for chunks in groups.values() for chunk in chunks]

    def _render_group(
        self, group: list[tuple[Delivery, JobMessage]], in_hand: dict[str, Delivery]
    ) -> dict[str, str]:
        outcomes: dict[str, str] = {}
        renderable = []
        for delivery, message in group:
            try:
                check_request(message.params)
            except InvalidRequest as error:
                outcomes[delivery.message_id] = self._fail(delivery, message, error)
                del in_hand[delivery.message_id]
            else:
                renderable.append((delivery, message))
        if not renderable:
            return outcomes
        started = time.monotonic()
        try:
            rendered = self._render([message.params for _, message in renderable])
        except ModelUnavailable as error:
            for delivery, message in renderable:
                outcomes[delivery.message_id] = self._fail(delivery, message, error)
                del in_hand[delivery.message_id]
            return outcomes
        except StopBeforeDeadline:
            raise
        except Exception:
            # Each entry goes back to the queue on its own, counting its own delivery.
            jobs = ",".join(str(message.job_id) for _, message in renderable)
            logger.exception("render error job_ids=%s; left pending for reclaim", jobs)
            for delivery, _ in renderable:
                outcomes[delivery.message_id] = self._outcome("retry")
                del in_hand[delivery.message_id]
            return outcomes
        for (delivery, message), images in zip(renderable, rendered, strict=True):
            with _bound(message):
                outcomes[delivery.message_id] = self._finish(delivery, message, images, started)
            del in_hand[delivery.message_id]
        return outcomes

    def _finish(
        self, delivery: Delivery, message: JobMessage, images: list[bytes], started: float
    ) -> str:
        """Store one job's PNGs, record it, acknowledge it. An error here is this job's
        alone: its entry stays pending for reclaim, the batch goes on."""
        job = message.job_id
        try:
            planned = planned_images(message)
            for image, png in zip(planned, images, strict=True):
                self._until_available(partial(self.storage.put_png, image.s3_key, png))
            recorded = self._until_available(lambda: self.store.complete(message, planned))
        except StopBeforeDeadline:
            raise
        except Exception:
            logger.exception("job error job_id=%s; left pending for reclaim", job)
            return self._outcome("retry")
        self.queue.ack(delivery)
        if not recorded:
            logger.info("job result discarded job_id=%s (no longer running)", job)
            return self._outcome("skipped")
        GENERATION_DURATION.labels(message.params.model).observe(time.monotonic() - started)
        logger.info(
            "job succeeded job_id=%s images=%d seconds=%.3f",
            job,
            len(images),
            time.monotonic() - started,
        )
        return self._outcome("succeeded")

    def _fail(self, delivery: Delivery, message: JobMessage, error: Exception) -> str:
        """A job no worker can render: failed and refunded at once, on its own."""
        code: JobErrorCode = (
            "model_unavailable" if isinstance(error, ModelUnavailable) else "invalid_request"
        )
        with _bound(message):
            refunded = self._until_available(partial(self.store.fail, message, code))
            if refunded:
                CREDITS_REFUNDED.labels("failed").inc(refunded)
            self.queue.ack(delivery)
            logger.warning(
                "job failed job_id=%s refunded=%d reason=%s", message.job_id, refunded, error
            )
        return self._outcome("failed")

    def _until_available(self, step: Callable[[], T]) -> T:
        """Run ``step``; while PostgreSQL or S3 is out of reach, wait and try again
        (doubling the wait up to a bound) instead of failing the job: the entry stays
        ours (heartbeat) and no new one is taken, so an outage costs no attempt."""
        delay = 0.5
        while True:
            try:
                return step()
            except Exception as error:
                if not is_unavailable(error):
                    raise
                self._consuming = False
                if self.stopping:
                    raise StopBeforeDeadline from error
                logger.warning("backend unavailable (%s); retrying in %.1f s", error, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, self.options.unavailable_backoff_max_seconds)

    def _end_lease(self, message: JobMessage) -> None:
        """Let the next worker take the job at once (a lease ending now); with PostgreSQL
        away the lease simply runs out."""
        try:
            self.store.renew(message, self.consumer, 0)
        except Exception as error:
            if not is_unavailable(error):
                raise
            logger.warning("lease left to expire job_id=%s: %s", message.job_id, error)

    def _recover(self, data_lost: bool) -> None:
        self._next_sweep = time.monotonic() + self.options.requeue_sweep_seconds
        self.recovery.run(data_lost)

    def _render(self, jobs: list[GenerationParams]) -> list[list[bytes]]:
        pipeline = self.pipelines.get(jobs[0].model)
        render_started = time.monotonic()

        def on_step(step: int, total: int) -> None:
            if self.on_step is not None:
                self.on_step(step, total)
            if self.stopping:
                now = time.monotonic()
                per_step = (now - render_started) / (step + 1)
                remaining = per_step * (total - step - 1) + self.options.finishing_margin_seconds
                if now + remaining > self._deadline:
                    raise StopBeforeDeadline

        if self.stopping and time.monotonic() > self._deadline:
            raise StopBeforeDeadline
        return render_batch(pipeline, jobs, on_step)

    def _dead_letter(self, delivery: Delivery) -> str:
        message = delivery.message
        reason = f"gave up after {delivery.delivery_count - 1} attempts"
        refunded = self._until_available(lambda: self.store.fail(message, "gave_up"))
        if refunded:
            CREDITS_REFUNDED.labels("dead_lettered").inc(refunded)
            self.queue.dead_letter(delivery, reason)
            logger.warning("job dead-lettered job_id=%s refunded=%d", message.job_id, refunded)
            return self._outcome("dead_lettered")
        # Already final (e.g. it succeeded and only the XACK was lost): nothing to undo.
        self.queue.ack(delivery)
        return self._outcome("skipped")

    @contextmanager
    def _heartbeat(self, in_hand: dict[str, Delivery]) -> Iterator[None]:
        """Keep every entry still in ``in_hand`` (and its job's lease) ours."""
        done = threading.Event()

        def beat() -> None:
            while not done.wait(self.options.heartbeat_seconds):
                for delivery in list(in_hand.values()):
                    self._beat(delivery)

        thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def _beat(self, delivery: Delivery) -> None:
        # Each may fail alone (Redis or PostgreSQL away); the next beat may work, and
        # reclaim (or recovery, once the lease expires) is the fallback.
        try:
            self.queue.heartbeat(delivery, self.consumer)
        except Exception:
            logger.exception("heartbeat failed job_id=%s", delivery.message.job_id)
        try:
            self.store.renew(delivery.message, self.consumer, self.options.lease_seconds)
        except Exception:
            logger.exception("lease renewal failed job_id=%s", delivery.message.job_id)

    @staticmethod
    def _outcome(outcome: str) -> str:
        JOBS.labels(outcome).inc()
        return outcome


def _bound(message: JobMessage) -> AbstractContextManager[None]:
    """The job's ids on every log line of the block."""
    return log_context.bound(
        request_id=message.request_id or None,
        user_id=str(message.user_id),
        job_id=str(message.job_id),
    )


def install_stop_signals(stop: Callable[[], None]) -> None:
    import signal

    def handler(signum: int, _frame: object) -> None:
        logger.info("signal %s received: stopping", signal.Signals(signum).name)
        stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
