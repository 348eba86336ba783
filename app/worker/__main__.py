"""``python -m app.worker``: run one GPU worker until SIGTERM (or Ctrl-C)."""

from __future__ import annotations

import logging
import os

# Never reach for the Hugging Face Hub: models come from MODELS_DIR only.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")

from app.core.database import worker_database
from app.core.logging import configure_logging
from app.core.queue import JobQueue
from app.core.redis_clients import sync_client
from app.core.storage import ImageStorage
from app.store.jobs import JobStore
from app.worker.config import WorkerSettings
from app.worker.metrics import serve_metrics
from app.worker.pipelines import PipelineCache, choose_placement
from app.worker.runner import Worker, WorkerOptions, install_stop_signals
from app.worker.scheduling import TierSchedule

logger = logging.getLogger("app.worker")


def build_worker(settings: WorkerSettings) -> Worker:
    client = sync_client(
        settings.redis_url,
        cluster=settings.redis_cluster,
        decode_responses=True,
        socket_connect_timeout=5,
        # Above the longest blocking read, so a blocked XREAD is not cut short.
        socket_timeout=settings.worker_block_ms / 1000 + 10,
        health_check_interval=30,
    )
    placement = choose_placement(settings.worker_device, settings.worker_dtype)
    return Worker(
        queue=JobQueue(client, prefix=settings.queue_prefix, group=settings.queue_group),
        store=JobStore(
            worker_database(settings.database_url, settings.db_schema, settings.db_pool_size)
        ),
        storage=ImageStorage(
            bucket=settings.s3_bucket,
            region=settings.aws_region,
            endpoint_url=settings.aws_endpoint_url,
        ),
        pipelines=PipelineCache(
            settings.models_dir,
            placement,
            settings.worker_pipeline_cache_size,
            compile_options=settings.compile_options(),
        ),
        schedule=TierSchedule(settings.worker_tier_weights),
        options=WorkerOptions(
            consumer=settings.worker_name,
            reclaim_idle_seconds=settings.worker_reclaim_idle_seconds,
            heartbeat_seconds=settings.worker_heartbeat_seconds,
            max_deliveries=settings.worker_max_deliveries,
            grace_seconds=settings.worker_grace_seconds,
            block_ms=settings.worker_block_ms,
            batch_size=settings.worker_batch_size,
        ),
    )


def main() -> None:
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.disable_progress_bar()
    settings = WorkerSettings()
    worker = build_worker(settings)
    install_stop_signals(worker.request_stop)
    if settings.worker_metrics_port is not None:
        serve_metrics(settings.worker_metrics_port, worker.queue.lengths, lambda: worker.consuming)
        logger.info("metrics on port %d", settings.worker_metrics_port)
    logger.info(
        "placement device=%s dtype=%s",
        worker.pipelines.placement.device,
        worker.pipelines.placement.dtype,
    )
    worker.run()


if __name__ == "__main__":
    main()
