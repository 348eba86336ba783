"""The generation endpoint's statement goes out from the event loop through its own small
pool (app/core/statements.py): a restarted PostgreSQL costs one 503, not a wedged pool,
and a pool with every connection busy answers within its timeout."""

from __future__ import annotations

import asyncio

import pytest

from app.core.statements import AsyncStatements, StatementPoolTimeout
from tests.support.app import balance_and_ledger

REQUEST = {"prompt": "a lighthouse at dusk", "model": "tiny-sd", "width": 512, "height": 512}


@pytest.fixture
def api(make_client, client):
    """An application of its own for the restart; the session's has its sync pool
    emptied afterwards, so later tests do not spend a request finding out."""
    yield make_client()
    client.app.state.context.db.dispose()


def test_after_a_postgresql_restart_generations_succeed_again(api, make_user, database, owner):
    user = make_user(credits=10)
    assert api.post("/api/generations", headers=user.headers, json=REQUEST).status_code == 202

    database.server.shut_down()
    try:
        down = api.post("/api/generations", headers=user.headers, json=REQUEST)
    finally:
        database.server.start()
    assert down.status_code == 503
    assert down.headers["Retry-After"] == "5"
    assert down.json()["detail"]

    # The pooled connection died with the server: discarded, a fresh one opened (the
    # first request may still meet one that has not noticed yet).
    statuses = [
        api.post("/api/generations", headers=user.headers, json=REQUEST).status_code
        for _ in range(3)
    ]
    assert statuses[-1] == 202
    assert set(statuses) <= {202, 503}
    balance, total, _ = balance_and_ledger(owner, user.id)
    assert balance == total == 10 - statuses.count(202) - 1


def test_every_connection_busy_is_a_timeout_not_an_endless_wait(database):
    statements = AsyncStatements(database.app_url, database.schema, size=1, timeout=0.3)

    async def run() -> None:
        slow = asyncio.ensure_future(statements.one("SELECT pg_sleep(1.5)", {}))
        await asyncio.sleep(0.2)  # the one connection is now busy
        with pytest.raises(StatementPoolTimeout):
            await statements.one("SELECT 1 AS one", {})
        await slow
        await statements.close()

    asyncio.run(run())


def test_statements_within_the_pool_size_run_together(database):
    statements = AsyncStatements(database.app_url, database.schema, size=3, timeout=0.5)

    async def run() -> list[int]:
        rows = await asyncio.gather(
            *(
                statements.one("SELECT %(n)s::int AS n FROM pg_sleep(0.3)", {"n": n})
                for n in range(3)
            )
        )
        await statements.close()
        return [row.n for row in rows]

    assert asyncio.run(run()) == [0, 1, 2]
