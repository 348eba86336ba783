"""Per-request cost of our HTTP metrics middleware next to prometheus-fastapi-instrumentator,
each against the same application without HTTP metrics, in the same run.

    .venv/bin/python benchmarks/http_metrics.py [--requests 3000] [--rounds 9]

The application is ours (every service's routes and middleware) with no servers behind
it: requests go to ``GET /healthz`` through the whole ASGI stack in-process, so only the
metrics middleware differs. Prints microseconds per request (best of alternating rounds)
and each middleware's overhead over the stack without one.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from prometheus_fastapi_instrumentator import Instrumentator
from starlette.types import Message

from app.core.config import Settings
from app.core.metrics import HttpMetricsMiddleware
from app.factory import create_app
from app.services import all_routers

SETTINGS = Settings(
    database_url="postgresql://nobody@127.0.0.1:1/none",
    redis_url="redis://127.0.0.1:1/0",
    models_dir=Path("/nonexistent"),
)


def application(metrics: str) -> FastAPI:
    app = create_app(all_routers(), settings=SETTINGS)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not HttpMetricsMiddleware]
    if metrics == "ours":
        app.add_middleware(HttpMetricsMiddleware)
    elif metrics == "instrumentator":
        Instrumentator(registry=CollectorRegistry()).instrument(app)
    return app


async def per_request(app: FastAPI, requests: int) -> float:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/healthz",
        "raw_path": b"/healthz",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
        "app": app,
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        pass

    for _ in range(500):  # warm up
        await app(dict(scope), receive, send)
    started = time.perf_counter()
    for _ in range(requests):
        await app(dict(scope), receive, send)
    return (time.perf_counter() - started) / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000, help="per round")
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    apps = {name: application(name) for name in ("none", "ours", "instrumentator")}
    best = dict.fromkeys(apps, float("inf"))
    for _ in range(args.rounds):  # alternate, keep each one's best round
        for name, app in apps.items():
            best[name] = min(best[name], asyncio.run(per_request(app, args.requests)))
    for name, seconds in best.items():
        overhead = seconds - best["none"]
        print(f"{name:<15} {seconds * 1e6:7.1f} µs/request   overhead {overhead * 1e6:6.1f} µs")
    ours, theirs = best["ours"] - best["none"], best["instrumentator"] - best["none"]
    print(f"overhead ratio (instrumentator / ours): {theirs / ours:.2f}")


if __name__ == "__main__":
    main()
