"""Worker settings, from environment variables only (like the API's, with which it shares
``DATABASE_URL``, ``DB_SCHEMA``, ``REDIS_URL``, ``S3_BUCKET``, ``AWS_*`` and
``MODELS_DIR``). The worker holds no signing secrets, so it does not read the API's."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from app.core.config import DatabaseSettings
from app.core.queue import DEFAULT_GROUP, DEFAULT_PREFIX
from app.worker.compilation import CompileMode, CompileOptions, parse_sizes

DeviceChoice = Literal["auto", "cpu", "cuda", "mps"]
DtypeChoice = Literal["auto", "float32", "float16", "bfloat16"]


def default_consumer_name() -> str:
    """Unique per process: a restarted pod must not inherit its predecessor's entries
    as its own (they are reclaimed through XAUTOCLAIM instead)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class WorkerSettings(DatabaseSettings):
    db_pool_size: int = Field(default=2, ge=1, le=20)
    redis_url: str = "redis://localhost:6379/0"
    # The cluster protocol (ElastiCache Serverless): app/core/redis_clients.py.
    redis_cluster: bool = False
    s3_bucket: str = "pingvas-dev-images"
    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = None
    models_dir: Path = Path("/models")

    queue_prefix: str = DEFAULT_PREFIX
    queue_group: str = DEFAULT_GROUP
    worker_name: str = Field(default_factory=default_consumer_name)
    # Pending entries idle this long belong to a dead worker and are reclaimed.
    worker_reclaim_idle_seconds: float = Field(default=60, gt=0)
    # Well under the reclaim idle time, so a long job is never taken over.
    worker_heartbeat_seconds: float = Field(default=10, gt=0)
    # A job delivered more than this many times is dead-lettered, failed and refunded.
    worker_max_deliveries: int = Field(default=3, ge=1)
    # Time SIGTERM leaves us (Kubernetes terminationGracePeriodSeconds minus a margin).
    worker_grace_seconds: float = Field(default=25, ge=0)
    # Reads per cycle by tier: pro first, but every tier is served within one cycle.
    worker_tier_weights: dict[str, int] = Field(
        default_factory=lambda: {"pro": 4, "basic": 2, "free": 1}
    )
    worker_block_ms: int = Field(default=1000, ge=10, le=30_000)
    worker_pipeline_cache_size: int = Field(default=2, ge=1, le=16)
    worker_device: DeviceChoice = "auto"
    worker_dtype: DtypeChoice = "auto"
    worker_metrics_port: int | None = Field(default=9100, ge=0, le=65535)
    # Most images one pipeline call renders: queued jobs of the same model, size, steps
    # and guidance are rendered together up to this many images (1: one job a call).
    worker_batch_size: int = Field(default=1, ge=1, le=16)
    # torch.compile the UNet for the bucket sizes (WIDTHxHEIGHT, comma-separated); other
    # sizes run eagerly. The cache directory should outlive the pod (the chart mounts one).
    worker_compile: bool = False
    worker_compile_sizes: str = "512x512,768x768,1024x1024"
    worker_compile_mode: CompileMode = "reduce-overhead"
    worker_compile_cache_dir: Path | None = None

    @field_validator("worker_tier_weights")
    @classmethod
    def _known_tiers(cls, value: dict[str, int]) -> dict[str, int]:
        if set(value) != {"free", "basic", "pro"} or min(value.values()) < 1:
            raise ValueError("WORKER_TIER_WEIGHTS needs free, basic and pro, each at least 1")
        return value

    @field_validator("worker_compile_sizes")
    @classmethod
    def _bucket_sizes(cls, value: str) -> str:
        parse_sizes(value)
        return value

    def compile_options(self) -> CompileOptions | None:
        if not self.worker_compile:
            return None
        return CompileOptions(
            sizes=parse_sizes(self.worker_compile_sizes),
            max_batch=self.worker_batch_size,
            mode=self.worker_compile_mode,
            cache_dir=self.worker_compile_cache_dir,
        )

    @model_validator(mode="after")
    def _heartbeat_before_reclaim(self) -> WorkerSettings:
        if self.worker_heartbeat_seconds * 2 > self.worker_reclaim_idle_seconds:
            raise ValueError(
                "WORKER_HEARTBEAT_SECONDS must be at most half of WORKER_RECLAIM_IDLE_SECONDS"
            )
        return self
