"""The worker against the session's real PostgreSQL, Redis and moto, with the tiny
pipeline built once per session. Worker tests use their own Redis database (a "lane"),
flushed per test, so jobs the API tests leave queued in database 0 never reach them."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.database import Database as AppDatabase
from app.core.database import worker_database
from app.core.queue import JobQueue
from app.core.storage import ImageStorage
from app.devservers import Database, RedisServer, free_port
from app.store.jobs import JobStore
from app.worker.pipelines import PipelineCache, choose_placement
from app.worker.runner import Worker, WorkerOptions
from app.worker.scheduling import TierSchedule
from app.worker.tiny_model import TINY_MODEL_ID, build
from tests.support.app import BUCKET
from tests.support.worker import ROOT, WEIGHTS, Lane, WorkerProcess


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MODELS_DIR for the worker: the real tiny pipeline as ``tiny-sd``. (The API's
    catalogue also lists ``sdxl-base``, which this worker does not have.)"""
    root = tmp_path_factory.mktemp("worker-models")
    build(root, TINY_MODEL_ID)
    return root


@pytest.fixture(scope="session")
def pipelines(tiny_models_dir: Path) -> PipelineCache:
    return PipelineCache(tiny_models_dir, choose_placement("cpu"), capacity=2)


@pytest.fixture
def lane(redis_server: RedisServer) -> Iterator[Lane]:
    url = f"redis://127.0.0.1:{redis_server.port}/1"
    client = redis.Redis.from_url(url, decode_responses=True)
    client.flushdb()
    queue = JobQueue(client)
    queue.ensure_groups()
    # A queue in good health: no recovery re-enqueues other tests' unfinished jobs here.
    queue.end_recovery(completed=True)
    yield Lane(url, client, queue)
    client.close()


@pytest.fixture(scope="session")
def lane_api(make_client: Callable[..., TestClient], redis_server: RedisServer) -> TestClient:
    """The API enqueueing into the lane's Redis database."""
    return make_client(redis_url=f"redis://127.0.0.1:{redis_server.port}/1")


@pytest.fixture
def submit(lane_api: TestClient, lane: Lane) -> Callable[..., uuid.UUID]:
    def post(user: Any, **body: Any) -> uuid.UUID:
        request = {
            "prompt": "a lighthouse at dusk",
            "model": TINY_MODEL_ID,
            "width": 64,
            "height": 64,
            "steps": 2,
            **body,
        }
        response = lane_api.post("/api/generations", json=request, headers=user.headers)
        assert response.status_code == 202, response.text
        return uuid.UUID(response.json()["id"])

    return post


@pytest.fixture(scope="session")
def worker_db(database: Database) -> Iterator[AppDatabase]:
    """As the workers' own database role (migration 0004)."""
    db = worker_database(database.worker_url, database.schema, pool_size=2)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def storage(settings: Settings) -> ImageStorage:
    return ImageStorage(BUCKET, "us-east-1", endpoint_url=settings.aws_endpoint_url)


@pytest.fixture
def make_worker(
    lane: Lane, worker_db: AppDatabase, storage: ImageStorage, pipelines: PipelineCache
) -> Callable[..., Worker]:
    """An in-process worker on the lane (its queue and options overridable)."""

    def make(on_step: Any = None, queue: JobQueue | None = None, **options: Any) -> Worker:
        values: dict[str, Any] = {
            "consumer": f"test-worker-{uuid.uuid4().hex[:6]}",
            "reclaim_idle_seconds": 30,
            "heartbeat_seconds": 5,
            "block_ms": 0,
            **options,
        }
        return Worker(
            queue=queue or lane.queue,
            store=JobStore(worker_db),
            storage=storage,
            pipelines=pipelines,
            schedule=TierSchedule(WEIGHTS),
            options=WorkerOptions(**values),
            on_step=on_step,
        )

    return make


@pytest.fixture
def spawn_worker(
    lane: Lane, settings: Settings, tiny_models_dir: Path, database: Database
) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def spawn(**env: str) -> WorkerProcess:
        port = free_port()
        environment = {
            **os.environ,
            "DATABASE_URL": database.worker_url,
            "DB_SCHEMA": database.schema,
            "REDIS_URL": lane.url,
            "S3_BUCKET": BUCKET,
            "AWS_ENDPOINT_URL": settings.aws_endpoint_url or "",
            "MODELS_DIR": str(tiny_models_dir),
            "WORKER_METRICS_PORT": str(port),
            "WORKER_DEVICE": "cpu",
            "WORKER_BLOCK_MS": "200",
            "WORKER_RECLAIM_IDLE_SECONDS": "1.5",
            "WORKER_HEARTBEAT_SECONDS": "0.3",
            # Two workers share two cores: one thread each.
            "OMP_NUM_THREADS": "1",
            "HF_HUB_OFFLINE": "1",
            **env,
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "app.worker"],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        worker = WorkerProcess(process, port)
        threading.Thread(target=worker._pump, daemon=True).start()
        started.append(worker)
        return worker

    yield spawn
    for worker in started:
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait(timeout=10)
