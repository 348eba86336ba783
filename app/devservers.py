"""Throw-away PostgreSQL, Redis and moto servers for tests, benchmarks and local runs.

Each server is a real process on a free loopback port. PostgreSQL refuses to run as
root, so as root its binaries run through ``runuser -u postgres`` on a data directory
that user owns.
"""

# Commands below are fixed argument lists built here (no shell, no user input).
# ruff: noqa: S603

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import redis
from psycopg import sql

APP_ROLE = "pingvas_app"
WORKER_ROLE = "pingvas_worker"
OWNER_ROLE = "pingvas_owner"
DATABASE = "pingvas_saas"


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _postgres_binary(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        raise RuntimeError(f"{name} not found: install PostgreSQL (scripts/install-system-deps.sh)")
    return found


def _as_postgres_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _wait_until(check: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not start within {timeout} s")
        time.sleep(0.05)


@dataclass
class PostgresServer:
    data_dir: Path
    port: int
    base_dir: Path

    def url(self, user: str = "postgres", database: str = "postgres", password: str = "") -> str:
        secret = f":{password}" if password else ""
        return f"postgresql+psycopg://{user}{secret}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection[Any]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=database, autocommit=True
        )

    def start(self) -> None:
        """Start (or restart, after :meth:`shut_down`) the server on its port."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1"
            f" -c unix_socket_directories={self.base_dir} -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            _as_postgres_user(
                [
                    _postgres_binary("pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-o",
                    options,
                    "-l",
                    str(self.base_dir / "postgres.log"),
                    "-w",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )

    def shut_down(self, mode: str = "fast") -> None:
        """Stop the server and keep its data (an outage; :meth:`start` brings it back)."""
        subprocess.run(
            _as_postgres_user(
                [_postgres_binary("pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop"]
            ),
            check=False,
            capture_output=True,
        )

    def stop(self) -> None:
        self.shut_down("immediate")
        shutil.rmtree(self.base_dir, ignore_errors=True)


def start_postgres() -> PostgresServer:
    """initdb + start a PostgreSQL server tuned for speed (no fsync), trust auth on loopback."""
    base_dir = Path(tempfile.mkdtemp(prefix="pingvas-pg-"))
    base_dir.chmod(0o755)
    data_dir = base_dir / "data"
    data_dir.mkdir(mode=0o700)
    if os.geteuid() == 0:
        shutil.chown(base_dir, "postgres", "postgres")
        shutil.chown(data_dir, "postgres", "postgres")
    subprocess.run(
        _as_postgres_user(
            [
                _postgres_binary("initdb"),
                "-D",
                str(data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        ),
        check=True,
        capture_output=True,
    )
    server = PostgresServer(data_dir=data_dir, port=free_port(), base_dir=base_dir)
    server.start()
    return server


@dataclass
class Database:
    """A provisioned database: the owner runs migrations, the API connects as the app
    role and the GPU workers as the worker role."""

    server: PostgresServer
    name: str
    schema: str
    owner_url: str
    app_url: str
    worker_url: str


def provision_database(server: PostgresServer, schema: str = "dev_pingvas") -> Database:
    """Create the owner and (non-owner, non-superuser) application roles, the database,
    and run the migrations as the owner."""
    from app.core.database import run_migrations

    with server.connect() as conn:
        for role in (OWNER_ROLE, APP_ROLE, WORKER_ROLE):
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            if not exists:
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS").format(
                        sql.Identifier(role)
                    )
                )
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
        ).fetchone()
        if not exists:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(DATABASE), sql.Identifier(OWNER_ROLE)
                )
            )
    owner_url = server.url(OWNER_ROLE, DATABASE)
    run_migrations(owner_url, schema=schema, app_role=APP_ROLE, worker_role=WORKER_ROLE)
    return Database(
        server=server,
        name=DATABASE,
        schema=schema,
        owner_url=owner_url,
        app_url=server.url(APP_ROLE, DATABASE),
        worker_url=server.url(WORKER_ROLE, DATABASE),
    )


@dataclass
class RedisServer:
    process: subprocess.Popen[bytes]
    port: int
    # The cluster protocol, as ElastiCache Serverless speaks it: one node owning all
    # 16384 slots, so multi-key commands across slots fail with CROSSSLOT as there.
    cluster: bool = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def start(self) -> None:
        """Start again (after :meth:`stop`) on the same port, with no data: nothing is
        persisted, as a restarted Redis, or a replica that lost the streams, looks."""
        self.process = _spawn_redis(self.port, cluster=self.cluster)


def _spawn_redis(port: int, *, cluster: bool = False) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server not found: run scripts/install-system-deps.sh")
    command = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    if cluster:
        # A fresh node file each start: a restarted node forgets its slots, as data.
        nodes = Path(tempfile.mkdtemp(prefix="pingvas-redis-")) / "nodes.conf"
        command += ["--cluster-enabled", "yes", "--cluster-config-file", str(nodes)]
        # The bus port defaults to port + 10000, past 65535 for many free ports.
        command += ["--cluster-port", str(free_port())]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    _wait_until(client.ping, "redis-server")
    if cluster:
        client.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        _wait_until(
            lambda: b"cluster_state:ok" in client.execute_command("CLUSTER", "INFO"),
            "redis cluster",
        )
    client.close()
    return process


def start_redis(*, cluster: bool = False) -> RedisServer:
    port = free_port()
    return RedisServer(process=_spawn_redis(port, cluster=cluster), port=port, cluster=cluster)


@dataclass
class MotoServer:
    server: Any
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.stop()


def start_moto() -> MotoServer:
    """moto's in-process server (S3, Secrets Manager, ...); moto is a development dependency."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return MotoServer(server=server, port=port)


@contextlib.contextmanager
def local_services(schema: str = "dev_pingvas") -> Iterator[tuple[Database, RedisServer]]:
    """PostgreSQL (migrated) and Redis for the lifetime of the block."""
    postgres = start_postgres()
    try:
        database = provision_database(postgres, schema)
        redis_server = start_redis()
        try:
            yield database, redis_server
        finally:
            redis_server.stop()
    finally:
        postgres.stop()


def main() -> None:
    """``python -m app.devservers``: migrated PostgreSQL and Redis until Ctrl-C or SIGTERM."""
    # pg_ctl daemonises PostgreSQL: make SIGTERM unwind the context so it is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with local_services() as (database, redis_server):
        print(f"export DATABASE_URL={database.app_url}")
        print(f"export DB_SCHEMA={database.schema}")
        print(f"export REDIS_URL={redis_server.url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
