"""The worker loop: one job at a time, acknowledged only once its result is durable.

For each delivery:
  1. more than ``max_deliveries`` deliveries: fail the job, refund it once, dead-letter
     the entry (the job keeps crashing workers, or keeps failing transiently);
  2. ``queued|running -> running`` (conditional); no match means canceled or already
     final: acknowledge and skip;
  3. render with a heartbeat thread keeping the entry ours;
  4. PNGs to S3 under keys derived from the job id (a retry overwrites);
  5. images + ``succeeded`` in one transaction; then XACK.
A job the worker cannot run (unknown model, invalid size) fails and is refunded at once.
Any other error leaves the entry pending: it is reclaimed after the idle timeout and
counts as a delivery. On stop (SIGTERM) the worker takes no new job and finishes the
current one if it fits the grace period; otherwise it releases the entry for immediate
reclaim and exits.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from app.core import logging as log_context
from app.core.queue import PRIORITY, Delivery, JobQueue
from app.core.storage import ImageStorage
from app.worker.jobs import JobStore, planned_images
from app.worker.metrics import CREDITS_REFUNDED, GENERATION_DURATION, JOBS
from app.worker.pipelines import (
    InvalidRequest,
    ModelUnavailable,
    PipelineCache,
    RenderRequest,
    StepCallback,
    render,
)
from app.worker.scheduling import TierSchedule

logger = logging.getLogger(__name__)
ERROR_BACKOFF_SECONDS = 2.0


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
        self._stop = threading.Event()
        self._deadline = float("inf")
        self._next_reclaim = 0.0

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
        self.queue.ensure_groups()
        logger.info("worker ready consumer=%s", self.consumer)
        while not self.stopping:
            try:
                self.run_once()
            except Exception:
                # Redis or PostgreSQL away: whatever was taken stays pending for reclaim.
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
        if delivery.delivery_count > self.options.max_deliveries:
            return self._dead_letter(delivery)
        final = self.store.start(message)
        if final is not None:
            logger.info("job skipped job_id=%s status=%s", job, final)
            self.queue.ack(delivery)
            return self._outcome("skipped")
        logger.info(
            "job started job_id=%s tier=%s model=%s delivery=%d",
            job,
            message.tier,
            message.model,
            delivery.delivery_count,
        )
        started = time.monotonic()
        try:
            with self._heartbeat(delivery):
                images = self._render(delivery, started)
                planned = planned_images(message)
                for image, png in zip(planned, images, strict=True):
                    self.storage.put_png(image.s3_key, png)
                recorded = self.store.complete(message, planned)
        except (ModelUnavailable, InvalidRequest) as error:
            refunded = self.store.fail(message, str(error))
            if refunded:
                CREDITS_REFUNDED.labels("failed").inc(refunded)
            self.queue.ack(delivery)
            logger.warning("job failed job_id=%s refunded=%d reason=%s", job, refunded, error)
            return self._outcome("failed")
        except StopBeforeDeadline:
            self.queue.release(delivery, self.consumer)
            logger.warning("job abandoned job_id=%s (stopping; released for reclaim)", job)
            return self._outcome("abandoned")
        except Exception:
            logger.exception("job error job_id=%s; left pending for reclaim", job)
            return self._outcome("retry")
        self.queue.ack(delivery)
        if not recorded:
            logger.info("job result discarded job_id=%s (no longer running)", job)
            return self._outcome("skipped")
        GENERATION_DURATION.labels(message.model).observe(time.monotonic() - started)
        logger.info(
            "job succeeded job_id=%s images=%d seconds=%.3f",
            job,
            len(images),
            time.monotonic() - started,
        )
        return self._outcome("succeeded")

    def _render(self, delivery: Delivery, started: float) -> list[bytes]:
        message = delivery.message
        pipeline = self.pipelines.get(message.model)
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
        return render(
            pipeline,
            RenderRequest(
                prompt=message.prompt,
                negative_prompt=message.negative_prompt,
                width=message.width,
                height=message.height,
                steps=message.steps,
                guidance_scale=message.guidance_scale,
                seed=message.seed,
                num_images=message.num_images,
            ),
            on_step,
        )

    def _dead_letter(self, delivery: Delivery) -> str:
        message = delivery.message
        reason = f"gave up after {delivery.delivery_count - 1} attempts"
        refunded = self.store.fail(message, reason)
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
                try:
                    self.queue.heartbeat(delivery, self.consumer)
                except Exception:  # the next beat may work; reclaim is the fallback
                    logger.exception("heartbeat failed job_id=%s", delivery.message.job_id)

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
