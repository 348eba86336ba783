"""Alembic environment: connection and schema from the environment (or from the caller
through ``config.attributes`` when migrations run in-process, e.g. in tests)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

from app.core.config import DatabaseSettings

config = context.config


def _resolve() -> tuple[str, str, str | None]:
    attributes = config.attributes
    if "database_url" not in attributes:
        settings = DatabaseSettings()
        attributes["database_url"] = settings.database_url
        attributes["db_schema"] = settings.db_schema
        attributes["db_app_role"] = settings.db_app_role
        attributes["db_worker_role"] = settings.db_worker_role
    return attributes["database_url"], attributes["db_schema"], attributes.get("db_app_role")


def _run(connection: Connection, schema: str) -> None:
    # The platform creates a long-lived environment's schema, and its owner may not
    # create schemas (even `IF NOT EXISTS` needs that right): create only what is missing.
    present = connection.execute(
        text("SELECT 1 FROM pg_namespace WHERE nspname = :schema"), {"schema": schema}
    ).first()
    if present is None:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    connection.execute(text(f'SET search_path TO "{schema}"'))
    context.configure(
        connection=connection,
        version_table_schema=schema,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url, schema, _ = _resolve()
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            _run(connection, schema)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
run_migrations_online()
