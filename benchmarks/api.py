"""Throughput of ``POST /api/generations`` next to a bare FastAPI endpoint doing one Redis
write and one PostgreSQL update, measured in the same run on the same servers.

    .venv/bin/python benchmarks/api.py [--seconds 8] [--concurrency 16] [--rounds 2]

Starts its own PostgreSQL and Redis (``app.devservers``), runs each application under
uvicorn in its own process (ours through the real entry point ``app.main:app``), drives
both with the same closed-loop HTTP load, alternating rounds so background noise hits
both alike, and prints requests per second and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
from fastapi import FastAPI
from psycopg import sql
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.devservers import Database, free_port, local_services  # noqa: E402

GENERATION = {"prompt": "a benchmark", "model": "bench-model", "width": 512, "height": 512}
Load = list[tuple[str, dict[str, str], dict[str, object] | None]]


def bare_app() -> FastAPI:
    """The yardstick: one single-row UPDATE and one XADD per request, nothing else."""
    import redis

    engine = create_engine(os.environ["BENCH_DATABASE_URL"], pool_size=10, max_overflow=10)
    client = redis.Redis.from_url(os.environ["BENCH_REDIS_URL"], decode_responses=True)
    app = FastAPI()

    @app.post("/bare/{slot}")
    def bare(slot: int) -> dict[str, int]:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE bench_counters SET hits = hits + 1 WHERE id = :id"), {"id": slot}
            )
        client.xadd("bench:stream", {"slot": str(slot)})
        return {"slot": slot}

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


@dataclass
class Result:
    name: str
    requests: int = 0
    seconds: float = 0.0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)

    def add(self, requests: int, seconds: float, errors: int, latencies: list[float]) -> None:
        self.requests += requests
        self.seconds += seconds
        self.errors += errors
        self.latencies += latencies

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        ordered = sorted(self.latencies)
        p50 = statistics.median(ordered) if ordered else 0.0
        p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)] if ordered else 0.0
        return (
            f"{self.name:<30} {self.rate:8.1f} req/s   p50 {p50 * 1000:6.1f} ms"
            f"   p99 {p99 * 1000:6.1f} ms   errors {self.errors}"
        )


async def drive(result: Result, base: str, load: Load, seconds: float, warmup: float) -> None:
    """Closed loop: one request in flight per entry of ``load``; counts requests started
    in the measured window."""
    latencies: list[float] = []
    errors = 0
    limits = httpx2.Limits(max_connections=len(load), max_keepalive_connections=len(load))
    async with httpx2.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        start = time.perf_counter()
        measure_from, stop_at = start + warmup, start + warmup + seconds

        async def worker(
            path: str, headers: dict[str, str], body: dict[str, object] | None
        ) -> None:
            nonlocal errors
            while (sent := time.perf_counter()) < stop_at:
                try:
                    response = await client.post(path, headers=headers, json=body)
                    ok = response.status_code in (200, 202)
                except httpx2.HTTPError:
                    ok = False
                if sent >= measure_from:
                    if ok:
                        latencies.append(time.perf_counter() - sent)
                    else:
                        errors += 1

        await asyncio.gather(*(worker(*request) for request in load))
    result.add(len(latencies), seconds, errors, latencies)


def serve(target: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", *target, "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--log-level", "warning", "--no-access-log"],
        cwd=ROOT,
        env={**os.environ, **env},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"{base}/healthz").status_code == 200:
                return process, base
        except httpx2.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{target} did not start")


def environment(database: Database, redis_url: str, models: str) -> dict[str, str]:
    """A service process's settings against the local servers, rate limits out of the way."""
    return {
        "ENVIRONMENT": "development",
        "DATABASE_URL": database.app_url,
        "DB_SCHEMA": database.schema,
        "REDIS_URL": redis_url,
        "MODELS_DIR": models,
        "AUTH_DEV_LOGIN": "true",
        "JWT_SECRET": secrets.token_urlsafe(48),
        "SESSION_SECRET": secrets.token_urlsafe(48),
        "RATE_LIMIT_IP_PER_MINUTE": "1000000000",
        "RATE_LIMIT_USER_PER_MINUTE": "1000000000",
    }


def write_bench_model(models: Path) -> None:
    """The one model the services list: its manifest, no weights (the API never loads them)."""
    manifest = {"name": "Bench", "kind": "sd", "default_width": 512, "default_height": 512}
    (models / "bench-model").mkdir()
    (models / "bench-model" / "manifest.json").write_text(
        json.dumps({**manifest, "default_steps": 25})
    )


def prepare_bare_table(database: Database, slots: int) -> None:
    with database.server.connect(database.name) as conn:
        conn.execute("CREATE TABLE bench_counters (id int PRIMARY KEY, hits bigint NOT NULL)")
        conn.execute(
            "INSERT INTO bench_counters SELECT g, 0 FROM generate_series(0, %s) g", (slots,)
        )


def rich_users(base: str, database: Database, count: int) -> list[dict[str, str]]:
    """One user per client (as in production, users do not share a balance row)."""
    headers = []
    raise_credits = sql.SQL("UPDATE {}.users SET credits = 1000000000, tier = 'pro' WHERE id = %s")
    with database.server.connect(database.name) as conn:
        for index in range(count):
            login = httpx2.post(
                f"{base}/api/auth/dev-login", json={"email": f"bench{index}@example.com"}
            )
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            user_id = httpx2.get(f"{base}/api/users/me", headers=auth).json()["id"]
            conn.execute(raise_credits.format(sql.Identifier(database.schema)), (user_id,))
            headers.append(auth)
    return headers


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per round")
    parser.add_argument("--warmup", type=float, default=1.5)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    ours, bare = Result("POST /api/generations"), Result("bare: Redis write + PG update")
    with local_services() as (database, redis_server), tempfile.TemporaryDirectory() as models:
        write_bench_model(Path(models))
        prepare_bare_table(database, args.concurrency)
        api_env = environment(database, redis_server.url, models)
        bare_env = {
            "BENCH_DATABASE_URL": database.server.url("postgres", database.name),
            "BENCH_REDIS_URL": redis_server.url,
        }
        api, api_base = serve(["app.main:app"], api_env)
        yardstick, bare_base = serve(["--factory", "benchmarks.api:bare_app"], bare_env)
        try:
            users = rich_users(api_base, database, args.concurrency)
            ours_load: Load = [("/api/generations", headers, GENERATION) for headers in users]
            bare_load: Load = [(f"/bare/{slot}", {}, None) for slot in range(args.concurrency)]
            for _ in range(args.rounds):
                asyncio.run(drive(ours, api_base, ours_load, args.seconds, args.warmup))
                asyncio.run(drive(bare, bare_base, bare_load, args.seconds, args.warmup))
        finally:
            for process in (api, yardstick):
                process.terminate()
                process.wait(timeout=10)

    print(
        f"{os.cpu_count()} CPUs, {args.concurrency} concurrent clients,"
        f" {args.rounds} alternating rounds of {args.seconds:.0f} s each"
    )
    print(ours.line())
    print(bare.line())
    print(f"ratio (generations / bare): {ours.rate / bare.rate:.2f}")


if __name__ == "__main__":
    main()
