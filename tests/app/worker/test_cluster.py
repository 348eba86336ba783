"""The queue, the worker and credits against Redis in cluster mode, the protocol
ElastiCache Serverless speaks: one node owning every slot, so a command, transaction or
pipeline whose keys hash to different slots fails as it would there (CROSSSLOT).

The module's `lane` and `lane_api` replace conftest's, so `submit`, `make_worker` and
`spawn_worker` run on the cluster with cluster-aware clients (REDIS_CLUSTER)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from redis.cluster import RedisCluster

from app.core.activity import ActiveUsers
from app.core.queue import DEFAULT_PREFIX, JobQueue
from app.core.ratelimit import RateLimiter
from app.devservers import RedisServer, start_redis
from app.store.jobs import JobStore
from tests.support.app import balance_and_ledger
from tests.support.worker import Lane, job_status, ledger_keys, message_of, objects_of


@pytest.fixture(scope="module")
def cluster_server() -> Iterator[RedisServer]:
    server = start_redis(cluster=True)
    yield server
    server.stop()


@pytest.fixture
def lane(cluster_server: RedisServer) -> Iterator[Lane]:
    client = RedisCluster.from_url(cluster_server.url, decode_responses=True)
    client.flushall()
    queue = JobQueue(client)
    queue.ensure_groups()
    queue.end_recovery(completed=True)
    yield Lane(cluster_server.url, client, queue)
    client.close()


@pytest.fixture(scope="module")
def lane_api(make_client: Callable[..., TestClient], cluster_server: RedisServer) -> TestClient:
    return make_client(redis_url=cluster_server.url, redis_cluster=True)


def test_a_job_runs_through_api_and_worker_and_is_charged_once(
    make_user, submit, make_worker, owner, lane, lane_api, s3
):
    user = make_user(tier="pro")
    before = balance_and_ledger(owner, user.id)[0]
    job_id = submit(user, num_images=2)  # XADD + the active-users HyperLogLog, rate limits

    assert make_worker().run_once() == "succeeded"

    assert job_status(owner, job_id) == ("succeeded", None)
    assert len(objects_of(s3, owner, job_id)) == 2
    [(key, amount)] = ledger_keys(owner, job_id)
    assert key == f"debit:{job_id}"
    assert balance_and_ledger(owner, user.id)[0] == before + amount
    assert lane.queue.lengths() == {"free": 0, "basic": 0, "pro": 0}
    assert lane.redis.xpending(lane.queue.stream("pro"), lane.queue.group)["pending"] == 0
    # One PFCOUNT over the tier's minutes (same slot), through the API's client.
    assert ActiveUsers(lane.redis).counts(["pro"]) == {"pro": 1}
    assert lane_api.get("/readyz").status_code == 200


def test_a_job_delivered_too_often_is_dead_lettered_and_refunded_once(
    make_user, submit, make_worker, owner, lane
):
    user = make_user()
    before = balance_and_ledger(owner, user.id)[0]
    job_id = submit(user)
    lane.queue.read("crashed-1")
    for crashed in ("crashed-2", "crashed-3"):
        assert lane.queue.claim_stale(crashed, "free", min_idle_ms=0)
    time.sleep(0.01)
    worker = make_worker(reclaim_idle_seconds=0.001, max_deliveries=3)

    # XADD to the dead letters + XACK + XDEL of the tier stream: one transaction.
    assert worker.run_once() == "dead_lettered"

    assert [key for key, _ in ledger_keys(owner, job_id)] == [
        f"debit:{job_id}",
        f"refund:{job_id}",
    ]
    assert balance_and_ledger(owner, user.id)[0] == before
    [(_, dead)] = lane.redis.xrange(lane.queue.dead_letter_stream)
    assert dead["job_id"] == str(job_id)
    assert lane.redis.xlen(lane.queue.stream("free")) == 0


def test_a_worker_process_takes_over_a_dead_workers_job_and_completes_it_once(
    make_user, submit, spawn_worker, owner, lane, s3
):
    user = make_user()
    job_id = submit(user)
    # A worker read the entry and died without acknowledging it: at-least-once means
    # the next worker (a real process on the cluster protocol) reclaims and runs it.
    [delivery] = lane.queue.read("dead-worker")
    assert delivery.message.job_id == job_id

    worker = spawn_worker(REDIS_CLUSTER="true")

    worker.wait_for(rf"job succeeded job_id={job_id}", timeout=90)
    assert worker.wait_for(rf"job started job_id={job_id} .* delivery=(\d+)").group(1) == "2"
    assert len(objects_of(s3, owner, job_id)) == 1
    assert [key for key, _ in ledger_keys(owner, job_id)] == [f"debit:{job_id}"]


def test_a_cluster_that_restarted_empty_is_recovered_from_postgresql(
    make_user, submit, make_worker, owner, lane, cluster_server
):
    owner("UPDATE jobs SET status = 'canceled' WHERE status IN ('queued', 'running')")
    user = make_user()
    job_id = submit(user)
    cluster_server.stop()
    cluster_server.start()  # empty: no streams, no group, no marker
    lane.redis.close()
    lane.queue.redis = RedisCluster.from_url(cluster_server.url, decode_responses=True)
    worker = make_worker()

    # The recovery lock, groups and marker (a transaction on two keys) then the job.
    deadline = time.monotonic() + 30
    while job_status(owner, job_id)[0] != "succeeded":
        worker.run_once()
        assert time.monotonic() < deadline, "the lost job was not re-enqueued and run"
    assert not lane.queue.data_lost()
    assert JobStore(worker.store.db).fail(message_of(owner, job_id), "gave_up") == 0


def test_untagged_queue_keys_fail_in_cluster_mode_where_tagged_ones_work(lane, cluster_server):
    tagged = lane.queue
    untagged = JobQueue(lane.redis)
    untagged.prefix = DEFAULT_PREFIX.strip("{}")  # what a prefix without its tag would do
    untagged.ensure_groups()  # one stream a call: works in any slot

    # Control: a blocking read over every tier and the recovery's transaction.
    assert tagged.read("c", block_ms=10) == []
    tagged.end_recovery(completed=True)
    # Bad case: the same commands over keys of different slots.
    with pytest.raises(redis.RedisClusterException, match="same key slot"):
        untagged.read("c", block_ms=10)
    with pytest.raises(redis.exceptions.CrossSlotTransactionError):
        untagged.end_recovery(completed=True)
    # The server refuses them too, whatever the client checks.
    plain = redis.Redis.from_url(cluster_server.url, decode_responses=True)
    with pytest.raises(redis.ResponseError, match="hash to the same slot"):
        plain.xreadgroup("g", "c", {untagged.stream("pro"): ">", untagged.stream("free"): ">"})
    plain.close()


def test_a_prefix_without_a_hash_tag_is_refused(lane):
    for prefix in ("pingvas:jobs", "pingvas:{}jobs", "pingvas:jobs{"):
        with pytest.raises(ValueError, match="no hash tag"):
            JobQueue(lane.redis, prefix=prefix)
    assert JobQueue(lane.redis, prefix="{pingvas:dev}:jobs").stream("pro") == (
        "{pingvas:dev}:jobs:pro"
    )


def test_active_users_across_minutes_need_their_tag(lane, monkeypatch):
    clock = [0.0]
    users = ActiveUsers(lane.redis, window_minutes=3, clock=lambda: clock[0])
    for minute in range(3):
        clock[0] = minute * 60
        users.record(uuid.uuid4(), "basic")
    assert users.counts(["basic"]) == {"basic": 3}  # control: one slot

    monkeypatch.setattr(ActiveUsers, "_key", staticmethod(lambda tier, m: f"au:{tier}:{m}"))
    with pytest.raises(redis.RedisClusterException, match="same key slot"):
        users.counts(["basic"])


def test_rate_limits_are_shared_through_the_cluster(cluster_server):
    prefix = f"test:{uuid.uuid4()}"
    limiters = [RateLimiter(cluster_server.url, prefix, cluster=True) for _ in range(2)]
    loops = [asyncio.new_event_loop(), asyncio.new_event_loop()]
    try:
        hits: list[Any] = [
            loop.run_until_complete(limiter.hit("ip", "10.0.0.1", limit=2))
            for loop, limiter in zip(loops * 2, limiters * 2, strict=True)
        ]
    finally:
        for loop in loops:
            loop.close()
    assert [hit.allowed for hit in hits] == [True, True, False, False]
