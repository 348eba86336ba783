"""The platform's schema-owner bootstrap (components/data/schema_owner.sql) and the chart's
migration hook (app/chart/files/migrate.py) against a real PostgreSQL and Secrets Manager
(moto): the platform creates the owner and its schema; the hook, as that owner, creates
the API's and the workers' roles and migrates, and running it again (every upgrade)
changes nothing but the roles' passwords. The owner reaches nothing of another environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from app.devservers import MotoServer, PostgresServer, start_moto, start_postgres
from components.data.schema_owners import SQL, owner_role
from components.environment.app_release import CHART_DIR

REPO = Path(__file__).resolve().parents[2]
SCHEMA, ROLE, DATABASE = "dev_pingvas", "dev_pingvas_app", "pingvas_saas"
WORKER_ROLE = "dev_pingvas_worker"
OWNER = owner_role("dev")
OTHER_SCHEMA, OTHER_OWNER = "prod_pingvas", owner_role("prod")


def bootstrap_owner(postgres: PostgresServer, owner: str, schema: str) -> None:
    """What the platform's bootstrap Job runs, as Aurora's master user."""
    result = subprocess.run(
        [
            "psql",
            "-h", "127.0.0.1",
            "-p", str(postgres.port),
            "-U", "postgres",
            "-d", DATABASE,
            "-v", "ON_ERROR_STOP=1",
            "-v", f"owner={owner}",
            "-v", f"schema={schema}",
            "-v", f"database={DATABASE}",
            "-v", "password=owner-password",
            "-f", str(SQL),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = start_postgres()
    try:
        with server.connect() as connection:
            connection.execute(f"CREATE DATABASE {DATABASE}")
        for _ in range(2):  # idempotent: every platform update runs it again
            bootstrap_owner(server, OWNER, SCHEMA)
            bootstrap_owner(server, OTHER_OWNER, OTHER_SCHEMA)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    server = start_moto()
    try:
        yield server
    finally:
        server.stop()


def run_hook(postgres: PostgresServer, moto: MotoServer, password: str) -> None:
    aws = {
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    client = boto3.client(
        "secretsmanager",
        region_name="us-east-1",
        endpoint_url=moto.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    secrets: dict[str, dict[str, Any]] = {
        "owner": {"username": OWNER, "password": "unused-with-trust-auth"},
        "database": {
            "DB_HOST": "127.0.0.1",
            "DB_PORT": postgres.port,
            "DB_NAME": DATABASE,
            "DB_SCHEMA": SCHEMA,
            "DB_USER": ROLE,
            "DB_PASSWORD": password,
        },
    }
    secrets["worker"] = {
        **secrets["database"],
        "DB_USER": WORKER_ROLE,
        "DB_PASSWORD": f"worker-{password}",
    }
    arns = {}
    for name, value in secrets.items():
        try:
            arns[name] = client.create_secret(Name=name, SecretString=json.dumps(value))["ARN"]
        except client.exceptions.ResourceExistsException:
            arns[name] = client.put_secret_value(SecretId=name, SecretString=json.dumps(value))[
                "ARN"
            ]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DB_", "DATABASE"))},
        **aws,
        "SCHEMA_OWNER_SECRET_ARN": arns["owner"],
        "DATABASE_SECRET_ARN": arns["database"],
        "WORKER_DATABASE_SECRET_ARN": arns["worker"],
        "PGSSLMODE": "disable",
    }
    result = subprocess.run(
        [sys.executable, str(CHART_DIR / "files" / "migrate.py")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_hook_creates_role_and_schema_and_migrates_idempotently(
    postgres: PostgresServer, moto: MotoServer
) -> None:
    run_hook(postgres, moto, "first-password")
    run_hook(postgres, moto, "second-password")  # every upgrade runs it again
    with postgres.connect(DATABASE) as connection:
        role = connection.execute(
            "SELECT rolcanlogin, rolsuper, rolbypassrls, rolpassword"
            " FROM pg_authid WHERE rolname = %s",
            (ROLE,),
        ).fetchone()
        assert role is not None
        can_login, superuser, bypass_rls, stored = role
        assert (can_login, superuser, bypass_rls) == (True, False, False)
        assert stored is not None
        tables = {
            row[0]
            for row in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", (SCHEMA,)
            )
        }
        assert {"users", "credit_ledger", "jobs", "images", "alembic_version"} <= tables
        granted = connection.execute(
            "SELECT has_table_privilege(%s, %s, 'SELECT')", (ROLE, f"{SCHEMA}.users")
        ).fetchone()
        assert granted == (True,)
        # The workers' role: created like the API's, and the only one that may requeue.
        worker = connection.execute(
            "SELECT rolcanlogin, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s",
            (WORKER_ROLE,),
        ).fetchone()
        assert worker == (True, False, False)
        requeue = f"{SCHEMA}.jobs_to_requeue()"
        for role, allowed in ((WORKER_ROLE, True), (ROLE, False)):
            assert connection.execute(
                "SELECT has_function_privilege(%s, %s, 'EXECUTE')", (role, requeue)
            ).fetchone() == (allowed,), role


def test_schema_owner_owns_its_schema_and_nothing_else(postgres: PostgresServer) -> None:
    with postgres.connect(DATABASE) as connection:
        owner = connection.execute(
            "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls"
            " FROM pg_roles WHERE rolname = %s",
            (OWNER,),
        ).fetchone()
        assert owner == (True, False, True, False, False)
        schemas = dict(
            connection.execute(
                "SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace"
                " WHERE nspname IN (%s, %s)",
                (SCHEMA, OTHER_SCHEMA),
            ).fetchall()
        )
        assert schemas == {SCHEMA: OWNER, OTHER_SCHEMA: OTHER_OWNER}
        # dev's owner can neither use prod's schema nor create anything in it.
        for privilege in ("USAGE", "CREATE"):
            allowed = connection.execute(
                "SELECT has_schema_privilege(%s, %s, %s)", (OWNER, OTHER_SCHEMA, privilege)
            ).fetchone()
            assert allowed == (False,), privilege
