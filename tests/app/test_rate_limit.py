"""Per-user and per-IP limits, kept in Redis, answer 429 with Retry-After."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from app.core.ratelimit import RateLimiter


@pytest.fixture(autouse=True)
def away_from_a_window_edge() -> None:
    """Limits count per clock minute: don't let a test straddle two windows."""
    if 60 - time.time() % 60 < 3:
        time.sleep(60 - time.time() % 60 + 0.1)


def test_per_user_limit(make_client, make_user):
    limited = make_client(rate_limit_user_per_minute=3)
    alice, bob = make_user(), make_user()
    # Counters live in the shared Redis; start this application's from zero.
    limited.app.state.context.limiter.prefix = f"pingvas:ratelimit:{uuid.uuid4()}"

    statuses = [limited.get("/api/users/me", headers=alice.headers).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    refused = limited.get("/api/users/me", headers=alice.headers)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert "user" in refused.json()["detail"]
    assert limited.get("/api/users/me", headers=bob.headers).status_code == 200


def test_per_ip_limit_covers_anonymous_endpoints(make_client):
    limited = make_client(rate_limit_ip_per_minute=2)
    # Every test client has the same address; start this application's counters from zero.
    limited.app.state.context.limiter.prefix = f"pingvas:ratelimit:{uuid.uuid4()}"

    statuses = [limited.get("/api/models").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert int(limited.get("/api/models").headers["Retry-After"]) >= 1
    assert limited.get("/healthz").status_code == 200  # probes are never limited


def test_limits_are_shared_through_redis(redis_server):
    prefix = f"test:{uuid.uuid4()}"
    # Two replicas, each with its own client and event loop. (Private loops: asyncio.run
    # would unset the thread's current loop, which later tests' Pulumi runtime reads.)
    first, second = RateLimiter(redis_server.url, prefix), RateLimiter(redis_server.url, prefix)
    first_loop, second_loop = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        assert first_loop.run_until_complete(first.hit("ip", "10.0.0.1", limit=2)).allowed
        assert second_loop.run_until_complete(second.hit("ip", "10.0.0.1", limit=2)).allowed
        decision = first_loop.run_until_complete(first.hit("ip", "10.0.0.1", limit=2))
        assert not decision.allowed
        assert 1 <= decision.retry_after <= 61
        assert second_loop.run_until_complete(second.hit("ip", "10.0.0.2", limit=2)).allowed
    finally:
        first_loop.close()
        second_loop.close()


def test_posting_generations_counts_against_the_user_limit(make_client, make_user, owner):
    limited = make_client(rate_limit_user_per_minute=2)
    limited.app.state.context.limiter.prefix = f"pingvas:ratelimit:{uuid.uuid4()}"
    user = make_user()
    request = {"prompt": "a fox", "model": "tiny-sd", "width": 64, "height": 64, "steps": 2}

    statuses = [
        limited.post("/api/generations", json=request, headers=user.headers).status_code
        for _ in range(3)
    ]

    assert statuses == [202, 202, 429]
    # The refused request recorded and debited nothing: two jobs, two debits.
    assert owner("SELECT count(*) FROM jobs WHERE user_id = %s", (user.id,)) == [(2,)]
    debits = owner(
        "SELECT count(*) FROM credit_ledger WHERE user_id = %s AND kind = 'debit'", (user.id,)
    )
    assert debits == [(2,)]
