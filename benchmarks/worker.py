"""The worker's per-job overhead (queue, S3, database) next to the bare pipeline call, on
the tiny model, measured in the same run.

    .venv/bin/python benchmarks/worker.py [--jobs 40] [--rounds 3] [--threads 1] [--size 64]

Starts its own PostgreSQL, Redis (``app.devservers``) and moto S3, builds the tiny model,
and alternates one bare ``render()`` call with one job (the same request) through an
in-process :class:`~app.worker.runner.Worker` (read, start, render, upload, commit, ack).
The overhead is each job's time minus its own pipeline call (so CPU contention from
elsewhere does not leak into it); the queue, S3 and database calls are timed one by one.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
    os.environ.setdefault(name, "bench")

import boto3  # noqa: E402
import redis  # noqa: E402
import torch  # noqa: E402
from diffusers.utils import logging as diffusers_logging  # noqa: E402

from app.core.database import Database, worker_database  # noqa: E402
from app.core.generation import GenerationParams  # noqa: E402
from app.core.queue import TIERS, JobMessage, JobQueue  # noqa: E402
from app.core.storage import ImageStorage  # noqa: E402
from app.devservers import local_services, start_moto  # noqa: E402
from app.store import ledger  # noqa: E402
from app.store.jobs import JobStore  # noqa: E402
from app.worker import runner  # noqa: E402
from app.worker.pipelines import PipelineCache, choose_placement, render  # noqa: E402
from app.worker.runner import Worker, WorkerOptions  # noqa: E402
from app.worker.scheduling import TierSchedule  # noqa: E402
from app.worker.tiny_model import TINY_MODEL_ID, build  # noqa: E402

BUCKET = "pingvas-bench-images"
PROMPT = "a benchmark lighthouse"


def timed(spent: dict[str, list[float]], kind: str, function: Callable[..., Any]) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[kind].append(time.perf_counter() - started)

    return wrapper


def enqueue_jobs(
    store: JobStore, queue: JobQueue, user_id: uuid.UUID, params: GenerationParams, n: int
) -> None:
    """Jobs as the API records them: debit, ledger entry and row in one statement, then
    XADD."""
    for _ in range(n):
        job_id = uuid.uuid4()
        created = store.create(user_id, job_id, params, 1, list(TIERS))
        assert created.outcome == "queued", created
        assert created.tier is not None
        queue.enqueue(
            JobMessage(
                job_id=job_id,
                user_id=user_id,
                tier=created.tier,
                params=params,
                cost=1,
                enqueued_at=datetime.now(UTC),
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=40, help="jobs per round and side")
    parser.add_argument("--rounds", type=int, default=3, help="total jobs = jobs x rounds")
    parser.add_argument("--size", type=int, default=64, help="width and height")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    diffusers_logging.disable_progress_bar()
    params = GenerationParams(
        model=TINY_MODEL_ID,
        prompt=PROMPT,
        negative_prompt="",
        width=args.size,
        height=args.size,
        steps=args.steps,
        guidance_scale=7.5,
        seed=1234,
        num_images=1,
    )

    models_dir = Path(tempfile.mkdtemp(prefix="pingvas-bench-models-"))
    build(models_dir)
    pipelines = PipelineCache(models_dir, choose_placement(), capacity=1)
    pipeline = pipelines.get(TINY_MODEL_ID)
    moto = start_moto()
    try:
        with local_services() as (database, redis_server):
            s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1")
            s3.create_bucket(Bucket=BUCKET)
            db = Database(database.app_url, database.schema, pool_size=2)
            client = redis.Redis.from_url(redis_server.url, decode_responses=True)
            queue = JobQueue(client)
            queue.ensure_groups()
            user_id = ledger.ensure_user(db, "bench@example.com", 1_000_000)
            spent: dict[str, list[float]] = defaultdict(list)
            queue.read = timed(spent, "queue", queue.read)  # type: ignore[method-assign]
            queue.claim_stale = timed(spent, "queue", queue.claim_stale)  # type: ignore[method-assign]
            queue.ack = timed(spent, "queue", queue.ack)  # type: ignore[method-assign]
            # The workers' own role (migration 0004): the one that may requeue.
            worker_db = worker_database(database.worker_url, database.schema, pool_size=2)
            store = JobStore(worker_db)
            store.start = timed(spent, "database", store.start)  # type: ignore[method-assign]
            store.complete = timed(spent, "database", store.complete)  # type: ignore[method-assign]
            storage = ImageStorage(BUCKET, "us-east-1", endpoint_url=moto.url)
            storage.put_png = timed(spent, "s3", storage.put_png)  # type: ignore[method-assign]
            runner.render_batch = timed(spent, "pipeline", runner.render_batch)
            worker = Worker(
                queue,
                store,
                storage,
                pipelines,
                TierSchedule({"pro": 4, "basic": 2, "free": 1}),
                WorkerOptions(consumer="bench", block_ms=0),
            )
            for _ in range(3):  # warm-up of both paths
                render(pipeline, params)
            enqueue_jobs(JobStore(db), queue, user_id, params, 3)
            while worker.run_once() is not None:
                pass
            spent.clear()

            # Alternate one bare call and one job through the worker, so that load from
            # elsewhere on the machine hits both sides alike.
            bare: list[float] = []
            full: list[float] = []
            outside_pipeline: list[float] = []
            total = args.jobs * args.rounds
            enqueue_jobs(JobStore(db), queue, user_id, params, total)
            for _ in range(total):
                started = time.perf_counter()
                render(pipeline, params)
                bare.append(time.perf_counter() - started)
                started = time.perf_counter()
                outcome = worker.run_once()
                full.append(time.perf_counter() - started)
                outside_pipeline.append(full[-1] - spent["pipeline"][-1])
                assert outcome == "succeeded", outcome
            db.dispose()
            worker_db.dispose()
            client.close()
    finally:
        moto.stop()

    jobs = args.jobs * args.rounds
    bare_ms = statistics.median(bare) * 1000
    full_ms = statistics.median(full) * 1000
    overhead_ms = statistics.median(outside_pipeline) * 1000
    print(
        f"tiny model, {args.size}x{args.size}, {args.steps} steps, device "
        f"{pipelines.placement.device}, {torch.get_num_threads()} thread(s), {jobs} jobs "
        "(medians; bare calls and worker jobs alternate)"
    )
    print(f"bare pipeline call          {bare_ms:8.1f} ms/job")
    print(f"job through the worker      {full_ms:8.1f} ms/job")
    print(
        f"worker overhead             {overhead_ms:8.1f} ms/job  (job time minus its pipeline call)"
    )
    for kind in ("queue", "database", "s3"):
        print(
            f"  of which {kind:<9}         {sum(spent[kind]) / jobs * 1000:8.1f} ms/job  "
            f"(mean, {len(spent[kind]) / jobs:.0f} calls/job)"
        )
    print(f"overhead / bare call        {overhead_ms / bare_ms:8.3f}")
    print(f"worker job / bare call      {full_ms / bare_ms:8.3f}")


if __name__ == "__main__":
    main()
