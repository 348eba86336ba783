"""The worker loop: one job at a time, acknowledged only once its result is durable.

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
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from typing import TypeVar

import redis
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.core import logging as log_context
from app.core.generation import GenerationParams
from app.core.job_errors import JobErrorCode
from app.core.queue import PRIORITY, Delivery, JobMessage, JobQueue, is_missing_group
from app.core.storage import ImageStorage
from app.store.jobs import JobStore, planned_images
from app.worker.metrics import CREDITS_REFUNDED, GENERATION_DURATION, JOBS
from app.worker.pipelines import (
    InvalidRequest,
    ModelUnavailable,
    PipelineCache,
    StepCallback,
    render,
)
from app.worker.recovery import QueueRecovery
from app.worker.scheduling import TierSchedule

logger = logging.getLogger(__name__)
ERROR_BACKOFF_SECONDS = 2.0
T = TypeVar("T")
S3_TRANSIENT_CODES = frozenset(
    {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling"}
)


def is_unavailable(error: BaseException) -> bool:
    """PostgreSQL or S3 out of reach (or refusing for now): not the job's failure."""
    if isinstance(error, OperationalError | InterfaceError | PoolTimeout):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, BotoConnectionError | HTTPClientError):
        return True
    if isinstance(error, ClientError):
        response = error.response
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        return status >= 500 or response.get("Error", {}).get("Code") in S3_TRANSIENT_CODES
    return False


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
                self.run_once()
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
        """Handle at most one delivery; returns its outcome (None when idle)."""
        delivery = self.next_delivery()
        if delivery is None:
            wait = self.options.block_ms if block_ms is None else block_ms
            if wait > 0 and not self.stopping:
                self.queue.wait_for_new(wait)
            return None
        message = delivery.message
        with log_context.bound(
            request_id=message.request_id or None,
            user_id=str(message.user_id),
            job_id=str(message.job_id),
        ):
            return self.handle(delivery)

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

    def handle(self, delivery: Delivery) -> str:
        message = delivery.message
        job = message.job_id
        with self._heartbeat(delivery):
            try:
                if delivery.delivery_count > self.options.max_deliveries:
                    return self._dead_letter(delivery)
                taken = self._until_available(
                    lambda: self.store.start(message, self.consumer, self.options.lease_seconds)
                )
                if taken.params is None:
                    logger.info("job skipped job_id=%s status=%s", job, taken.status)
                    self.queue.ack(delivery)
                    return self._outcome("skipped")
                message = replace(message, params=taken.params)
                logger.info(
                    "job started job_id=%s tier=%s model=%s delivery=%d",
                    job,
                    message.tier,
                    message.params.model,
                    delivery.delivery_count,
                )
                started = time.monotonic()
                images = self._render(message.params, started)
                planned = planned_images(message)
                for image, png in zip(planned, images, strict=True):
                    self._until_available(partial(self.storage.put_png, image.s3_key, png))
                recorded = self._until_available(lambda: self.store.complete(message, planned))
            except (ModelUnavailable, InvalidRequest) as error:
                unavailable = isinstance(error, ModelUnavailable)
                code: JobErrorCode = "model_unavailable" if unavailable else "invalid_request"
                refunded = self._until_available(partial(self.store.fail, message, code))
                if refunded:
                    CREDITS_REFUNDED.labels("failed").inc(refunded)
                self.queue.ack(delivery)
                logger.warning("job failed job_id=%s refunded=%d reason=%s", job, refunded, error)
                return self._outcome("failed")
            except StopBeforeDeadline:
                self.queue.release(delivery, self.consumer)
                self._end_lease(message)
                logger.warning("job abandoned job_id=%s (stopping; released for reclaim)", job)
                return self._outcome("abandoned")
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

    def _render(self, params: GenerationParams, started: float) -> list[bytes]:
        pipeline = self.pipelines.get(params.model)
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
        return render(pipeline, params, on_step)

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
    def _heartbeat(self, delivery: Delivery) -> Iterator[None]:
        done = threading.Event()

        def beat() -> None:
            while not done.wait(self.options.heartbeat_seconds):
                # Each may fail alone (Redis or PostgreSQL away); the next beat may work,
                # and reclaim (or recovery, once the lease expires) is the fallback.
                try:
                    self.queue.heartbeat(delivery, self.consumer)
                except Exception:
                    logger.exception("heartbeat failed job_id=%s", delivery.message.job_id)
                try:
                    self.store.renew(delivery.message, self.consumer, self.options.lease_seconds)
                except Exception:
                    logger.exception("lease renewal failed job_id=%s", delivery.message.job_id)

        thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    @staticmethod
    def _outcome(outcome: str) -> str:
        JOBS.labels(outcome).inc()
        return outcome


def install_stop_signals(stop: Callable[[], None]) -> None:
    import signal

    def handler(signum: int, _frame: object) -> None:
        logger.info("signal %s received: stopping", signal.Signals(signum).name)
        stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
