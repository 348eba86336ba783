"""What the worker tests share: the lane (a Redis database of their own), the worker as a
child process with its log lines, and reads of a job's row, ledger entries and objects."""

from __future__ import annotations

import re
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.generation import GenerationParams
from app.core.queue import JobMessage, JobQueue
from app.core.redis_clients import SyncRedis
from app.store.jobs import planned_images
from tests.support.app import BUCKET

WEIGHTS = {"pro": 4, "basic": 2, "free": 1}
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Lane:
    url: str
    redis: SyncRedis
    queue: JobQueue


@dataclass
class WorkerProcess:
    """``python -m app.worker`` as a child process; its log lines are collected."""

    process: subprocess.Popen[str]
    metrics_port: int
    lines: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    ended: bool = False

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.ended = True
            self.changed.notify_all()

    def wait_for(self, pattern: str, timeout: float = 60.0, start: int = 0) -> re.Match[str]:
        """The first log line from index ``start`` on matching ``pattern``."""
        compiled = re.compile(pattern)
        deadline = time.monotonic() + timeout
        checked = start
        with self.changed:
            while True:
                for line in self.lines[checked:]:
                    found = compiled.search(line)
                    if found:
                        return found
                checked = max(checked, len(self.lines))
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.ended:
                    tail = "\n".join(self.lines[-30:])
                    raise AssertionError(f"no log line matching {pattern!r}; last lines:\n{tail}")
                self.changed.wait(min(remaining, 0.5))

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)


def job_status(owner: Any, job_id: uuid.UUID) -> tuple[str, str | None]:
    status, error = owner("SELECT status, error FROM jobs WHERE id = %s", (job_id,))[0]
    return status, error


def ledger_keys(owner: Any, job_id: uuid.UUID) -> list[tuple[str, int]]:
    rows = owner("SELECT key, amount FROM credit_ledger WHERE job_id = %s ORDER BY id", (job_id,))
    return [(key, amount) for key, amount in rows]


def objects_of(s3: Any, owner: Any, job_id: uuid.UUID) -> list[str]:
    """The job's objects in S3: of the keys its images get (opaque, derived from the job
    id), those that exist."""
    found = []
    for image in planned_images(message_of(owner, job_id)):
        listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=image.s3_key)
        found += [item["Key"] for item in listing.get("Contents", [])]
    return sorted(found)


def message_of(owner: Any, job_id: uuid.UUID) -> JobMessage:
    """The message the API enqueued for the job, rebuilt from its row."""
    user_id, tier, cost, created_at, *params = owner(
        "SELECT user_id, tier, cost, created_at, model, prompt, coalesce(negative_prompt, ''),"
        " width, height, steps, guidance_scale, seed, num_images FROM jobs WHERE id = %s",
        (job_id,),
    )[0]
    return JobMessage(job_id, user_id, tier, GenerationParams(*params), cost, created_at)
