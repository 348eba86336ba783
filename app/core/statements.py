"""One statement on the event loop: a small pool of psycopg async connections.

``POST /api/generations`` costs one database round trip (``create_job``). Sent from the
event loop it needs no worker thread: a thread hop, and the thread waiting for the GIL
again when its answer arrives, cost more CPU than the statement's own driver work
(benchmarks/api.py, docs/app.md). Everything else keeps SQLAlchemy's sync engine.

Connections belong to the event loop that opened them: one pool per loop (a server
process has one; the tests open several). A pool keeps up to ``size`` connections open
(none closed on return, so no PostgreSQL backend is forked per request under load).
After a connection fails (PostgreSQL restarted or failed over) the idle ones opened
before it are closed too, like SQLAlchemy's pool invalidation: the failing request
answers 503, the next ones connect afresh.
"""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row

from app.core.loops import PerLoop


class StatementPoolTimeout(Exception):
    """Every connection of the pool stayed busy for the whole timeout."""


class _Pool:
    def __init__(self, conninfo: str, options: str, size: int, timeout: float) -> None:
        self._conninfo, self._options, self._timeout = conninfo, options, timeout
        self._slots = asyncio.Semaphore(size)
        self._idle: list[psycopg.AsyncConnection[Any]] = []

    async def one(self, statement: str, params: dict[str, object]) -> Any:
        if self._slots.locked():  # wait_for costs a task: only when a wait is likely
            try:
                await asyncio.wait_for(self._slots.acquire(), self._timeout)
            except TimeoutError as error:
                raise StatementPoolTimeout("no database connection free") from error
        else:
            await self._slots.acquire()
        try:
            connection = self._idle.pop() if self._idle else await self._connect()
            try:
                cursor = await connection.execute(statement, params)
                row = await cursor.fetchone()
            except psycopg.OperationalError:
                await connection.close()
                await self.close()  # opened before the failure: likely dead too
                raise
            except psycopg.Error:
                if not (connection.broken or connection.closed):
                    self._idle.append(connection)  # a statement's error (say RLS): reusable
                raise
            except BaseException:
                await connection.close()  # cancelled mid-statement: its state is unknown
                raise
            self._idle.append(connection)
            return row
        finally:
            self._slots.release()

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(
            self._conninfo,
            autocommit=True,
            options=self._options,
            row_factory=namedtuple_row,
            connect_timeout=max(1, round(self._timeout)),
        )

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()


class AsyncStatements:
    def __init__(self, conninfo: str, schema: str, size: int = 10, timeout: float = 10) -> None:
        # The plain libpq URL (SQLAlchemy's "+psycopg" driver name removed).
        self._conninfo = conninfo.replace("postgresql+psycopg://", "postgresql://", 1)
        self._options = f"-c search_path={schema}"
        self._pools = PerLoop(lambda: _Pool(self._conninfo, self._options, size, timeout))

    async def one(self, statement: str, params: dict[str, object]) -> Any:
        """One statement in its own implicit transaction (autocommit), sent as written
        (psycopg's ``%(name)s`` parameters); its first row (attributes by column name)
        or None."""
        return await self._pools.get().one(statement, params)

    def forget(self) -> None:
        """Drop every loop's pool, from any thread (after a restart the caller knows of:
        the next statement connects afresh instead of meeting a dead connection)."""
        self._pools.clear()

    async def close(self) -> None:
        """Close the idle connections of this loop's pool."""
        pool = self._pools.pop()
        if pool is not None:
            await pool.close()
