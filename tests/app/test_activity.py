"""Active users per tier (SPEC §7 Business dashboard): distinct users across pods and
minutes, within the window only, exported on /metrics."""

from __future__ import annotations

import uuid

import redis

from app.core.activity import ActiveUsers
from tests.support.app import metric


def test_distinct_users_per_tier_within_the_window(redis_client: redis.Redis) -> None:
    now = [1_000_000.0]
    tracker = ActiveUsers(redis_client, window_minutes=60, clock=lambda: now[0])
    namespace = uuid.uuid4().hex  # the session's Redis is shared: use fresh tiers
    free, pro = f"free-{namespace}", f"pro-{namespace}"
    alice, bob = uuid.uuid4(), uuid.uuid4()
    tracker.record(alice, free)
    now[0] += 600  # ten minutes later, on another pod: the same user counts once
    ActiveUsers(redis_client, clock=lambda: now[0]).record(alice, free)
    tracker.record(bob, free)
    tracker.record(bob, pro)
    assert tracker.counts([free, pro]) == {free: 2, pro: 1}
    now[0] += 55 * 60  # alice's first visit leaves the window, her second is in it
    assert tracker.counts([free]) == {free: 2}
    now[0] += 10 * 60  # 65 minutes after the last visits: nobody is active
    assert tracker.counts([free, pro]) == {free: 0, pro: 0}


def test_an_unreachable_redis_does_not_fail_the_caller() -> None:
    dead = redis.Redis(port=1, socket_connect_timeout=0.2)
    ActiveUsers(dead).record(uuid.uuid4(), "free")  # logs, does not raise


def test_metrics_export_active_users_by_tier(client, make_user) -> None:
    user = make_user(credits=100, tier="basic")
    before = metric(client.get("/metrics").text, "active_users", tier="basic")
    client.post("/api/generations", headers=user.headers, json={"prompt": "m", "model": "tiny-sd"})
    after = metric(client.get("/metrics").text, "active_users", tier="basic")
    assert after == before + 1
