"""A preview's PostgreSQL (components/data/postgres.py) speaks TLS: its init container's
command makes a key PostgreSQL accepts, and the server's own arguments turn TLS on, so
the app's `sslmode=require` connects. Run for real with the local PostgreSQL binaries,
the pod's paths moved into a temporary directory."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from app.devservers import _as_postgres_user, _postgres_binary, free_port
from tests.support.stacks import run_stack


def pod_spec() -> dict[str, Any]:
    stateful_set = run_stack("pr-7").one(
        "kubernetes:apps/v1:StatefulSet", "pingvas-pr-7-postgres-statefulset"
    )
    spec: dict[str, Any] = stateful_set.inputs["spec"]["template"]["spec"]
    return spec


def moved(arguments: list[str], root: Path) -> list[str]:
    """The container's arguments with its /tls mount under `root`."""
    return [argument.replace("/tls/", f"{root}/tls/") for argument in arguments]


@pytest.fixture
def server_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("postgres-tls")
    for path in (root, *root.parents):
        if path == Path("/"):
            break
        path.chmod(path.stat().st_mode | 0o111)  # the postgres user walks in
    (root / "tls").mkdir()
    (root / "data").mkdir(mode=0o700)
    if os.geteuid() == 0:
        for path in (root, root / "tls", root / "data"):
            shutil.chown(path, "postgres", "postgres")
    yield root
    subprocess.run(
        _as_postgres_user(
            [_postgres_binary("pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "stop"]
        ),
        check=False,
        capture_output=True,
    )


def test_the_init_containers_key_serves_tls(server_dir: Path) -> None:
    spec = pod_spec()
    (init,) = spec["initContainers"]
    (server,) = spec["containers"]
    assert {"name": "tls", "mountPath": "/tls"} in init["volumeMounts"]
    subprocess.run(
        _as_postgres_user(moved(init["command"], server_dir)), check=True, capture_output=True
    )
    assert (server_dir / "tls" / "server.key").stat().st_mode & 0o077 == 0  # owner only
    subprocess.run(
        _as_postgres_user(
            [
                _postgres_binary("initdb"),
                "-D",
                str(server_dir / "data"),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
            ]
        ),
        check=True,
        capture_output=True,
    )
    port = free_port()
    options = " ".join(
        [
            f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={server_dir}",
            *moved(server["args"], server_dir),
        ]
    )
    subprocess.run(
        _as_postgres_user(
            [
                _postgres_binary("pg_ctl"),
                "-D",
                str(server_dir / "data"),
                "-o",
                options,
                "-l",
                str(server_dir / "postgres.log"),
                "-w",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    with psycopg.connect(
        host="127.0.0.1", port=port, user="postgres", dbname="postgres", sslmode="require"
    ) as connection:
        row = connection.execute(
            "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ).fetchone()
    assert row is not None
    assert row[0] is True
    assert row[1] in ("TLSv1.2", "TLSv1.3")
