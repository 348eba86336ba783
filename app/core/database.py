"""Engines for the writer and (optional) reader, and transactions scoped to one user.

Row-level security keys on the transaction-local setting ``app.user_id``; every
transaction that touches user data goes through :meth:`Database.transaction`, which
sets it first, so a pooled connection never carries one user's identity to another.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, Row, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from app.core.config import normalise_database_url
from app.core.statements import AsyncStatements

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def make_engine(
    url: str, schema: str, pool_size: int = 10, pool_timeout: float = 10, pre_ping: bool = False
) -> Engine:
    return create_engine(
        normalise_database_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=pool_timeout,
        # pre_ping (one short round trip per checkout): after a PostgreSQL restart or
        # failover a stale pooled connection is replaced before use instead of failing the
        # statement it was given. The worker needs it (a finished render's final commit
        # must not fail); the API does without (a round trip on every request): the first
        # statement on a dead connection fails that request with 503, and SQLAlchemy then
        # discards every connection of the pool opened before the failure.
        pool_pre_ping=pre_ping,
        pool_recycle=1800,
        # Tables carry no schema in the models; map them into DB_SCHEMA here, and set the
        # search_path for the few functions called by name.
        execution_options={"schema_translate_map": {None: schema}},
        connect_args={"options": f"-c search_path={schema}"},
    )


class Database:
    def __init__(
        self,
        url: str,
        schema: str,
        read_url: str | None = None,
        pool_size: int = 10,
        pool_timeout: float = 10,
        pre_ping: bool = False,
    ) -> None:
        self.schema = schema
        self.writer = make_engine(url, schema, pool_size, pool_timeout, pre_ping)
        self.reader = (
            make_engine(read_url, schema, pool_size, pool_timeout, pre_ping)
            if read_url
            else self.writer
        )
        self._autocommit = self.writer.execution_options(isolation_level="AUTOCOMMIT")
        # The writer's single statements from the event loop (opens nothing until used),
        # as many connections as the engine's pool_size + max_overflow.
        self.statements = AsyncStatements(url, schema, 2 * pool_size, pool_timeout)
        self._writer_sessions = sessionmaker(self.writer, expire_on_commit=False)
        self._reader_sessions = sessionmaker(self.reader, expire_on_commit=False)

    @contextmanager
    def transaction(
        self, user_id: uuid.UUID | None, *, read_only: bool = False
    ) -> Iterator[Session]:
        """One transaction; commits on success, rolls back on error.

        ``read_only`` transactions may go to the reader (replica lag is acceptable for
        lists, not for read-your-own-write lookups, which use the writer).
        """
        sessions = self._reader_sessions if read_only else self._writer_sessions
        with sessions.begin() as session:
            if user_id is not None:
                session.execute(
                    text("SELECT set_config('app.user_id', :user_id, true)"),
                    {"user_id": str(user_id)},
                )
            yield session

    def call(self, statement: str, params: dict[str, object]) -> Row[Any] | None:
        """One statement in its own implicit transaction (autocommit): one round trip, no
        BEGIN/COMMIT. For database functions that scope themselves to a user. The statement
        goes to the driver as written (psycopg's ``%(name)s`` parameters, no compilation)."""
        with self._autocommit.connect() as connection:
            return connection.exec_driver_sql(statement, params).one_or_none()

    def ping(self) -> None:
        with self.writer.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.statements.forget()
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()


def worker_database(url: str, schema: str, pool_size: int = 2) -> Database:
    """The worker's connections, pre-pinged at checkout: after a PostgreSQL restart or
    failover a stale pooled connection is replaced instead of failing a finished render's
    final commit."""
    return Database(url, schema, pool_size=pool_size, pre_ping=True)


def alembic_config(
    url: str, schema: str, app_role: str | None = None, worker_role: str | None = None
) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes.update(
        {
            "database_url": normalise_database_url(url),
            "db_schema": schema,
            "db_app_role": app_role,
            "db_worker_role": worker_role,
        }
    )
    return config


def run_migrations(
    url: str, schema: str, app_role: str | None = None, worker_role: str | None = None
) -> None:
    command.upgrade(alembic_config(url, schema, app_role, worker_role), "head")
