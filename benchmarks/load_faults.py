"""Jobs under load while a backend fails: nothing lost, nothing run twice, nobody charged twice.

    .venv/bin/python benchmarks/load_faults.py [--clients 4] [--seconds 15] [--interval 0.5]
        [--faults redis,postgres,worker]

For each fault, a fresh run: real PostgreSQL and Redis (``app.devservers``), moto S3, the
API (``uvicorn app.main:app``) and two workers (``python -m app.worker`` on the tiny
model, CPU). ``--clients`` users each submit a generation every ``--interval`` seconds
for ``--seconds``; a third of the way in the run's fault strikes:

- ``redis``: Redis stopped and started again empty (streams, group and marker gone);
- ``postgres``: PostgreSQL shut down and started again;
- ``worker``: a worker SIGKILLed just after it logged ``job started`` (mid-job), and a
  replacement started.

Then the queue drains (every job row final, or ``--drain-timeout``) and the figures come
from what was recorded, not from what was expected: the answers the clients got, the job
rows, the ledger, and the workers' own log lines (``job started``, ``job succeeded``,
``job result discarded``), the killed worker's included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx2
import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.core.queue import JobQueue  # noqa: E402
from app.devservers import Database, RedisServer, free_port, local_services, start_moto  # noqa: E402
from app.worker.tiny_model import TINY_MODEL_ID, build  # noqa: E402

BUCKET = "pingvas-faults-images"
# Four steps: long enough (a few tenths of a second) for a worker to be killed mid-job.
REQUEST = {"prompt": "a lighthouse", "model": TINY_MODEL_ID, "width": 64, "height": 64, "steps": 4}
FINAL = ("succeeded", "failed", "canceled")
RENDER_LINE = re.compile(r"^job (started|succeeded|result discarded) job_id=([0-9a-f-]{36})")


@dataclass
class Answers:
    """What the clients saw: job ids of 202s, other statuses, requests with no answer."""

    accepted: set[str] = field(default_factory=set)
    refused: Counter[str] = field(default_factory=Counter)
    submitted: int = 0


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log: Path

    def renders(self) -> list[tuple[str, str]]:
        """(event, job id) for each render line this worker logged."""
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                message = json.loads(line).get("message", "")
            except json.JSONDecodeError:
                continue
            match = RENDER_LINE.match(message)
            if match:
                found.append((match.group(1), match.group(2)))
        return found


class Stack:
    """The API and the workers of one run, on the run's servers."""

    def __init__(
        self, database: Database, redis_server: RedisServer, s3: str, models: Path, logs: Path
    ) -> None:
        self.database, self.redis_server, self.logs = database, redis_server, logs
        common = {
            **os.environ,
            "DB_SCHEMA": database.schema,
            "REDIS_URL": redis_server.url,
            "S3_BUCKET": BUCKET,
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": s3,
            "MODELS_DIR": str(models),
            "LOG_LEVEL": "INFO",
        }
        self.api_env = {
            **common,
            "ENVIRONMENT": "development",
            "DATABASE_URL": database.app_url,
            "AUTH_DEV_LOGIN": "true",
            "JWT_SECRET": secrets.token_urlsafe(48),
            "SESSION_SECRET": secrets.token_urlsafe(48),
            "RATE_LIMIT_IP_PER_MINUTE": "1000000",
            "RATE_LIMIT_USER_PER_MINUTE": "1000000",
        }
        self.worker_env = {
            **common,
            "DATABASE_URL": database.worker_url,  # jobs_to_requeue() is the workers' only
            "WORKER_DEVICE": "cpu",
            "WORKER_RECLAIM_IDLE_SECONDS": "4",
            "WORKER_HEARTBEAT_SECONDS": "1",
            "WORKER_BLOCK_MS": "500",
            "OMP_NUM_THREADS": "1",
            "HF_HUB_OFFLINE": "1",
        }
        self.workers: list[WorkerProcess] = []
        self.api: subprocess.Popen[bytes] | None = None
        self.base = ""

    def start_api(self) -> None:
        port = free_port()
        log = (self.logs / "api.log").open("ab")
        self.api = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port)],
            cwd=ROOT,
            env=self.api_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.base = f"http://127.0.0.1:{port}"
        wait_for(lambda: httpx2.get(f"{self.base}/healthz").status_code == 200, 60, "the API")

    def start_worker(self) -> WorkerProcess:
        log = self.logs / f"worker-{len(self.workers)}.log"
        env = {**self.worker_env, "WORKER_METRICS_PORT": str(free_port())}
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "app.worker"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        worker = WorkerProcess(process, log)
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        for process in [self.api, *(worker.process for worker in self.workers)]:
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (httpx2.HTTPError, OSError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not come up within {timeout} s")


def owner_connection(database: Database) -> psycopg.Connection[Any]:
    """The schema owner (row-level security does not apply): the whole picture."""
    return psycopg.connect(
        database.owner_url.replace("postgresql+psycopg://", "postgresql://"),
        autocommit=True,
        options=f"-c search_path={database.schema}",
    )


def make_users(stack: Stack, count: int, credits: int) -> list[dict[str, str]]:
    headers = []
    with owner_connection(stack.database) as conn:
        for index in range(count):
            login = httpx2.post(
                f"{stack.base}/api/auth/dev-login", json={"email": f"load{index}@example.com"}
            )
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            user_id = httpx2.get(f"{stack.base}/api/users/me", headers=auth).json()["id"]
            # Through the ledger, so the balance stays the sum of its entries.
            conn.execute(
                "WITH granted AS (UPDATE users SET credits = credits + %(n)s, tier = 'pro'"
                " WHERE id = %(u)s RETURNING credits)"
                " INSERT INTO credit_ledger (user_id, key, kind, amount, balance_after)"
                " SELECT %(u)s, 'load-grant:' || %(u)s, 'grant', %(n)s, credits FROM granted",
                {"n": credits, "u": user_id},
            )
            headers.append(auth)
    return headers


async def submit(
    base: str, users: list[dict[str, str]], seconds: float, interval: float
) -> Answers:
    answers = Answers()
    async with httpx2.AsyncClient(base_url=base, timeout=15) as client:
        stop_at = time.monotonic() + seconds

        async def one_user(headers: dict[str, str]) -> None:
            while time.monotonic() < stop_at:
                answers.submitted += 1
                try:
                    response = await client.post("/api/generations", headers=headers, json=REQUEST)
                except httpx2.HTTPError as error:
                    answers.refused[f"no answer ({type(error).__name__})"] += 1
                else:
                    if response.status_code == 202:
                        answers.accepted.add(response.json()["id"])
                    else:
                        answers.refused[str(response.status_code)] += 1
                await asyncio.sleep(interval)

        await asyncio.gather(*(one_user(headers) for headers in users))
    return answers


def strike(fault: str, stack: Stack) -> str:
    """The fault, and what happened, in words."""
    if fault == "redis":
        stack.redis_server.stop()
        time.sleep(2)
        stack.redis_server.start()
        return "Redis stopped 2 s, started empty"
    if fault == "postgres":
        stack.database.server.shut_down()
        time.sleep(2)
        stack.database.server.start()
        return "PostgreSQL shut down 2 s, started again"
    # Kill the first worker the moment it logs the start of a job.
    victim = stack.workers[0]
    seen = len(victim.renders())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        events = victim.renders()[seen:]
        started = [job for event, job in events if event == "started"]
        if started:
            victim.process.kill()
            victim.process.wait()
            stack.start_worker()
            job = started[-1]
            finished = any(e != "started" and j == job for e, j in victim.renders())
            return f"worker killed {'after' if finished else 'mid-'}job {job}; replacement started"
        time.sleep(0.01)
    raise TimeoutError("the worker started no job to kill")


def drain(database: Database, accepted: set[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with owner_connection(database) as conn:
        while time.monotonic() < deadline:
            open_jobs = conn.execute(
                "SELECT count(*) FROM jobs WHERE status <> ALL(%s)", (list(FINAL),)
            ).fetchone()
            known = conn.execute(
                "SELECT count(*) FROM jobs WHERE id::text = ANY(%s)", (list(accepted),)
            ).fetchone()
            if open_jobs and open_jobs[0] == 0 and known and known[0] == len(accepted):
                return
            time.sleep(1)


def figures(stack: Stack, answers: Answers) -> dict[str, Any]:
    with owner_connection(stack.database) as conn:
        rows = conn.execute("SELECT id::text, status, error_code, cost FROM jobs").fetchall()
        entries = conn.execute(
            "SELECT job_id::text, kind, amount FROM credit_ledger WHERE job_id IS NOT NULL"
        ).fetchall()
        unbalanced = conn.execute(
            "SELECT count(*) FROM users u WHERE u.credits <>"
            " (SELECT coalesce(sum(amount), 0) FROM credit_ledger l WHERE l.user_id = u.id)"
        ).fetchone()
    jobs = {job: (status, code, cost) for job, status, code, cost in rows}
    charged: dict[str, list[int]] = {}
    for job, _, amount in entries:
        charged.setdefault(job, []).append(amount)
    renders = [event for worker in stack.workers for event in worker.renders()]
    starts = Counter(job for event, job in renders if event == "started")
    finished = Counter(job for event, job in renders if event != "started")
    double_charged = 0
    for job, (status, _, cost) in jobs.items():
        amounts = charged.get(job, [])
        expected = -cost if status in ("succeeded", "queued", "running") else 0
        if sum(1 for a in amounts if a < 0) > 1 or sum(amounts) != expected:
            double_charged += 1
    statuses = Counter(jobs[job][0] for job in answers.accepted if job in jobs)
    # Lost: accepted, then gone from the table, or unfinished with no message left to run it.
    unfinished = {j for j in answers.accepted if jobs.get(j, ("missing",))[0] not in FINAL}
    queued = JobQueue(redis.Redis.from_url(stack.redis_server.url, decode_responses=True)).job_ids()
    lost = {j for j in unfinished if j not in jobs or j not in queued}
    return {
        "submitted": answers.submitted,
        "accepted": len(answers.accepted),
        "refused": dict(answers.refused),
        "completed": statuses["succeeded"],
        "failed (refunded)": dict(
            Counter(jobs[j][1] for j in answers.accepted if jobs[j][0] == "failed")
        ),
        "lost": len(lost),
        "unfinished, still queued": len(unfinished - lost),
        # A refused submission that left a row (a 503 after its debit): final and refunded?
        "recorded without a 202, by status": dict(
            Counter(jobs[j][0] for j in set(jobs) - answers.accepted)
        ),
        "run twice": sum(1 for n in finished.values() if n > 1),
        "started again after the fault": sum(1 for n in starts.values() if n > 1),
        "double-charged": double_charged,
        "balances not the ledger's sum": unbalanced[0] if unbalanced else None,
    }


def run(fault: str, args: argparse.Namespace, models: Path) -> dict[str, Any]:
    moto = start_moto()
    boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    try:
        with local_services() as (database, redis_server), tempfile.TemporaryDirectory() as logs:
            stack = Stack(database, redis_server, moto.url, models, Path(logs))
            try:
                stack.start_api()
                for _ in range(args.workers):
                    stack.start_worker()
                users = make_users(stack, args.clients, credits=100_000)
                note: list[str] = []
                timer = threading.Timer(args.seconds / 3, lambda: note.append(strike(fault, stack)))
                timer.start()
                answers = asyncio.run(submit(stack.base, users, args.seconds, args.interval))
                timer.join()
                drain(database, answers.accepted, args.drain_timeout)
                return {"fault": note[0] if note else "did not strike", **figures(stack, answers)}
            finally:
                stack.stop()
    finally:
        moto.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between jobs")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    parser.add_argument("--faults", default="redis,postgres,worker")
    args = parser.parse_args()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "load")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    with tempfile.TemporaryDirectory() as models:
        build(Path(models), TINY_MODEL_ID)
        print(
            f"{args.clients} clients, one job each per {args.interval} s for {args.seconds:.0f} s,"
            f" {args.workers} workers (tiny model, CPU), 64x64"
        )
        for fault in args.faults.split(","):
            result = run(fault, args, Path(models))
            print(f"\n[{fault}] {result.pop('fault')}")
            for name, value in result.items():
                print(f"  {name:<36} {value}")


if __name__ == "__main__":
    main()
