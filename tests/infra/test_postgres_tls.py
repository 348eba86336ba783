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
from psycopg.conninfo import make_conninfo

from app.devservers import _as_postgres_user, _postgres_binary, free_port
from components.data.database_access import tls_parameters
from tests.support.stacks import run_stack

# The repository's copy of the file the images hold at RDS_CA_BUNDLE.
RDS_CA_BUNDLE_FILE = str(Path(__file__).parents[2] / "app" / "certs" / "rds-global-bundle.pem")


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


def start_scram_server(server_dir: Path) -> int:
    """The pod's server as the image runs it: its key, SCRAM for host connections
    (POSTGRES_HOST_AUTH_METHOD), its arguments; the superuser's password set."""
    spec = pod_spec()
    (init,) = spec["initContainers"]
    (server,) = spec["containers"]
    env = {e["name"]: e.get("value") for e in server["env"]}
    method = env["POSTGRES_HOST_AUTH_METHOD"]
    subprocess.run(_as_postgres_user(moved(init["command"], server_dir)), check=True)
    data = str(server_dir / "data")
    initdb = [_postgres_binary("initdb"), "-D", data, "-U", "postgres", "--no-sync"]
    subprocess.run(
        _as_postgres_user([*initdb, "--auth-local=trust", f"--auth-host={method}"]),
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
    log = str(server_dir / "postgres.log")
    pg_ctl = [_postgres_binary("pg_ctl"), "-D", data, "-o", options, "-l", log, "-w", "start"]
    subprocess.run(_as_postgres_user(pg_ctl), check=True, capture_output=True)
    with psycopg.connect(host=str(server_dir), port=port, user="postgres") as connection:
        connection.execute("ALTER ROLE postgres PASSWORD 'pw'")
    return port


def test_previews_bind_scram_to_the_channel_and_aurora_checks_the_ca(server_dir: Path) -> None:
    """Issue 22: the parameters the database secrets carry (tls_parameters), against the
    preview's server run for real."""
    port = start_scram_server(server_dir)
    login = make_conninfo(host="127.0.0.1", port=port, user="postgres", password="pw")
    # Control: a preview's parameters (require + channel binding) log in; libpq's
    # channel_binding=require succeeds only through SCRAM-SHA-256-PLUS.
    with psycopg.connect(make_conninfo(login, **tls_parameters(None))) as connection:
        assert connection.pgconn.used_password
    # Attack: verify-full against RDS's bundle refuses a server whose certificate RDS
    # did not sign (a machine in the middle, or this self-signed preview server).
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        psycopg.connect(make_conninfo(login, **tls_parameters(RDS_CA_BUNDLE_FILE)))
    # Attack: a server that lets the client in without SCRAM (here: trust, over TLS)
    # is refused when channel binding is required, allowed when it is not.
    hba = server_dir / "data" / "pg_hba.conf"
    hba.write_text("host all all 127.0.0.1/32 trust\nlocal all all trust\n")
    subprocess.run(
        _as_postgres_user([_postgres_binary("pg_ctl"), "-D", str(server_dir / "data"), "reload"]),
        check=True,
        capture_output=True,
    )
    with pytest.raises(psycopg.OperationalError, match="channel binding"):
        psycopg.connect(make_conninfo(login, **tls_parameters(None)))
    with psycopg.connect(make_conninfo(login, sslmode="require")):
        pass
