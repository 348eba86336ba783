"""Pre-install/pre-upgrade hook: the environment's two roles, the API's and the GPU
workers', then `alembic upgrade head` as the environment's schema owner (docs/app.md,
docs/security.md), which grants each its rights (the workers' alone may requeue).

Reads three Secrets Manager secrets with the pod's identity: the schema owner's (made by
the platform: username, password; the platform also created the schema it owns) and the
environment's database secrets of the API and of the workers (DB_HOST, DB_PORT, DB_NAME,
DB_SCHEMA, DB_USER, DB_PASSWORD). The Aurora master secret is never read here, and the
owner may create no schema: its one schema is the platform's doing.

The one exception to "secrets reach pods through External Secrets" (docs/data.md): the
owner's credentials are out of the namespace's store on purpose (a platform secret, or a
preview's superuser the store is denied), so no Kubernetes Secret ever holds them; and as
a pre-install hook this runs before the release's ExternalSecrets exist.

Idempotent: creates each role or resets its password to its secret's, and migrates.
TLS: the database secret names libpq's parameters (DB_SSLMODE, DB_SSLROOTCERT,
DB_CHANNEL_BINDING: verify-full against RDS's CA bundle and channel binding on Aurora;
components/data/database_access.py); both connections, the hook's and alembic's, use
them. A secret without them leaves libpq's PGSSLMODE (the Job sets `require`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any
from urllib.parse import quote, urlencode

import boto3
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo


def read_secret(client: Any, secret_id: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        client.get_secret_value(SecretId=secret_id)["SecretString"]
    )
    return document


TLS_PARAMETERS = ("sslmode", "sslrootcert", "channel_binding")


def tls_parameters(database: dict[str, Any]) -> dict[str, str]:
    """The libpq parameters the database secret sets (DB_SSLMODE, ...)."""
    keys = {name: f"DB_{name.upper()}" for name in TLS_PARAMETERS}
    return {name: str(database[key]) for name, key in keys.items() if key in database}


def ensure_role(connection: psycopg.Connection[Any], role: str, password: str) -> None:
    """Creates `role`, or sets its password to its secret's."""
    exists = connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    # The defaults (NOSUPERUSER, NOBYPASSRLS, ...) are what row-level security needs;
    # a CREATEROLE owner may not name SUPERUSER or BYPASSRLS anyway.
    verb = sql.SQL("ALTER ROLE" if exists else "CREATE ROLE")
    connection.execute(
        sql.SQL("{} {} LOGIN PASSWORD {}").format(verb, sql.Identifier(role), sql.Literal(password))
    )


def main() -> int:
    client = boto3.client("secretsmanager", region_name=os.environ["AWS_REGION"])
    owner = read_secret(client, os.environ["SCHEMA_OWNER_SECRET_ARN"])
    database = read_secret(client, os.environ["DATABASE_SECRET_ARN"])
    worker = read_secret(client, os.environ["WORKER_DATABASE_SECRET_ARN"])
    user, password = owner["username"], owner["password"]
    host, port, name = database["DB_HOST"], database["DB_PORT"], database["DB_NAME"]
    schema, role = database["DB_SCHEMA"], database["DB_USER"]
    tls = tls_parameters(database)
    conninfo = make_conninfo(host=host, port=port, dbname=name, user=user, password=password, **tls)
    with psycopg.connect(conninfo) as connection:
        ensure_role(connection, role, database["DB_PASSWORD"])
        ensure_role(connection, worker["DB_USER"], worker["DB_PASSWORD"])
    owner_url = (
        f"postgresql+psycopg://{quote(user, safe='')}:{quote(password, safe='')}"
        f"@{host}:{port}/{name}" + (f"?{urlencode(tls)}" if tls else "")
    )
    env = {
        **os.environ,
        "DATABASE_URL": owner_url,
        "DB_SCHEMA": schema,
        "DB_APP_ROLE": role,
        "DB_WORKER_ROLE": worker["DB_USER"],
    }
    command = [sys.executable, "-m", "alembic", "upgrade", "head"]
    return subprocess.call(command, env=env)  # noqa: S603 (a fixed command)


if __name__ == "__main__":
    sys.exit(main())
