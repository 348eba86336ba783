"""The worker's Prometheus metrics, served on its own port (``WORKER_METRICS_PORT``).

``generation_duration_seconds``, ``queue_length`` and ``credits_refunded_total`` are the
same metrics the API defines (SPEC §7); queue lengths and GPU memory are read at scrape time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import torch
from cachetools import TTLCache
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, generate_latest

from app.core.metrics import CREDITS_REFUNDED, GENERATION_DURATION, QUEUE_LENGTH
from app.core.queue import TIERS

__all__ = ["CREDITS_REFUNDED", "GENERATION_DURATION", "JOBS", "serve_metrics"]

JOBS = Counter(
    "worker_jobs_total",
    "Deliveries handled by the worker, by outcome: succeeded, failed (refunded), "
    "dead_lettered (refunded), skipped (canceled or already final), abandoned (stopping), "
    "retry (error; left for reclaim).",
    ["outcome"],
)
GPU_MEMORY_ALLOCATED = Gauge(
    "gpu_memory_allocated_bytes", "CUDA memory held by tensors.", ["device"]
)
GPU_MEMORY_RESERVED = Gauge(
    "gpu_memory_reserved_bytes", "CUDA memory reserved by the caching allocator.", ["device"]
)


class CachedLengths:
    """Queue lengths read from Redis at most once per ``ttl`` seconds, so a burst of
    scrapes costs one round trip; a Redis error reads as NaN, not a failed scrape."""

    def __init__(self, read: Callable[[], dict[str, int]], ttl: float = 1.0) -> None:
        self._read = read
        self._lock = threading.Lock()
        self._cache: TTLCache[str, dict[str, float]] = TTLCache(maxsize=1, ttl=ttl)

    def get(self, tier: str) -> float:
        with self._lock:
            values = self._cache.get("lengths")
            if values is None:
                try:
                    values = {key: float(n) for key, n in self._read().items()}
                except Exception:  # a scrape must not fail because Redis is away
                    values = {}
                self._cache["lengths"] = values
            return values.get(tier, float("nan"))


def serve_metrics(
    port: int, queue_lengths: Callable[[], dict[str, int]], consuming: Callable[[], bool]
) -> None:
    """``/metrics`` (Prometheus) and ``/healthz`` (200 while the worker can consume:
    Redis, its consumer group and PostgreSQL answered on the last cycle; else 503, so
    the pod's readiness shows a worker that is stuck) on ``port``, in a thread."""
    lengths = CachedLengths(queue_lengths)
    for tier in TIERS:
        QUEUE_LENGTH.labels(tier).set_function(partial(lengths.get, tier))
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            device = f"cuda:{index}"
            GPU_MEMORY_ALLOCATED.labels(device).set_function(
                partial(torch.cuda.memory_allocated, index)
            )
            GPU_MEMORY_RESERVED.labels(device).set_function(
                partial(torch.cuda.memory_reserved, index)
            )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] == "/healthz":
                ok = consuming()
                status, body, content_type = (
                    200 if ok else 503,
                    b"consuming\n" if ok else b"not consuming\n",
                    "text/plain",
                )
            else:
                status, body, content_type = 200, generate_latest(), CONTENT_TYPE_LATEST
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass  # one line per scrape and probe is noise

    server = ThreadingHTTPServer(("", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
