"""The whole application on this machine: ``make dev`` (or ``.venv/bin/python scripts/dev.py``).

Starts, as local processes, PostgreSQL (migrated), Redis and a moto S3 endpoint with the
images bucket; builds the tiny model into ``.local/models`` if it is missing; then runs
the API (``uvicorn app.main:app`` on port 8000) and one worker (``python -m app.worker``,
metrics on 9100). Their logs are interleaved here; Ctrl-C stops everything and exits
with status 130, at any step, without a traceback.
"""

# Commands below are fixed argument lists built here (no shell, no user input).
# ruff: noqa: S603

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.devservers import local_services, start_moto  # noqa: E402

BUCKET = "pingvas-dev-images"
WEBHOOK_SECRET = "dev-webhook-secret"  # noqa: S105 - a local development value
VARIANTS = {"credits-100": "101", "credits-500": "105", "basic": "201", "pro": "301"}


def _pump(name: str, process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        print(f"[{name}] {line}", end="", flush=True)


def _wait_healthy(url: str, process: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the API exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local URL
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8000, help="API port")
    parser.add_argument("--metrics-port", type=int, default=9100, help="worker metrics port")
    parser.add_argument("--models-dir", type=Path, default=ROOT / ".local" / "models")
    args = parser.parse_args()
    # pg_ctl daemonises PostgreSQL: make SIGTERM unwind the context so it is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    # Children run in process groups of their own: the terminal's Ctrl-C reaches only this
    # script, which stops them (run() kills its child on the interrupt; `finally` below).
    subprocess.run(
        [sys.executable, "-m", "app.worker.tiny_model", str(args.models_dir), "--if-missing"],
        cwd=ROOT,
        check=True,
        process_group=0,
    )
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "dev")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    moto = start_moto()
    children: list[subprocess.Popen[str]] = []
    try:
        with local_services() as (database, redis_server):
            import boto3

            boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1").create_bucket(
                Bucket=BUCKET
            )
            environment = {
                **os.environ,
                "ENVIRONMENT": "development",
                "DATABASE_URL": database.app_url,
                "DB_SCHEMA": database.schema,
                "REDIS_URL": redis_server.url,
                "S3_BUCKET": BUCKET,
                "AWS_REGION": "us-east-1",
                "AWS_ENDPOINT_URL": moto.url,
                "MODELS_DIR": str(args.models_dir),
                "AUTH_DEV_LOGIN": "true",
                "LEMONSQUEEZY_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "LEMONSQUEEZY_VARIANTS": json.dumps(VARIANTS),
                "WORKER_METRICS_PORT": str(args.metrics_port),
                "HF_HUB_OFFLINE": "1",
            }
            commands = {
                "api": [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "app.main:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(args.port),
                ],
                "worker": [sys.executable, "-m", "app.worker"],
            }
            for name, command in commands.items():
                process = subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=environment,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    process_group=0,
                )
                children.append(process)
                threading.Thread(target=_pump, args=(name, process), daemon=True).start()
            _wait_healthy(f"http://127.0.0.1:{args.port}/readyz", children[0])
            print(
                f"\nPingvas is running: API http://127.0.0.1:{args.port} "
                f"(docs /api/docs), worker metrics http://127.0.0.1:{args.metrics_port}/metrics\n"
                f"webhook secret: {WEBHOOK_SECRET}; credit-pack variant ids: {VARIANTS}\n"
                f"the same environment for other commands:\n"
                + "".join(
                    f"  export {key}={environment[key]}\n"
                    for key in ("DATABASE_URL", "DB_SCHEMA", "REDIS_URL", "AWS_ENDPOINT_URL")
                )
                + "Ctrl-C stops everything.\n",
                flush=True,
            )
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
            raise SystemExit("a process exited; stopping")
    finally:
        # A second Ctrl-C must not cut the clean-up short (PostgreSQL and Redis are
        # stopped by local_services' own exit, above).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
        moto.stop()


def entry() -> int:
    """`main`, with Ctrl-C at any step (the model build, a service start, the run) an exit
    status of 130, as shells report an interrupted command, rather than a traceback."""
    try:
        main()
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(entry())
