"""Outages of the servers the worker depends on (issue 13, items 1, 2 and 7), with the
real servers of the session stopped and started inside each test.

Redis restarting empty must lose no job (PostgreSQL is the truth), a PostgreSQL outage
must cost no attempt, and a PostgreSQL restart during a render must not throw the render
away. Every job ends succeeded, debited once and never refunded.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app.worker.runner import Worker


def statuses(owner: Any, job_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = owner("SELECT id, status FROM jobs WHERE id = ANY(%s)", (job_ids,))
    return dict(rows)


def ledger_of(owner: Any, job_id: uuid.UUID) -> list[str]:
    rows = owner("SELECT kind FROM credit_ledger WHERE job_id = %s ORDER BY id", (job_id,))
    return [kind for (kind,) in rows]


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def succeeded_once(owner: Any, job_ids: list[uuid.UUID]) -> None:
    assert statuses(owner, job_ids) == dict.fromkeys(job_ids, "succeeded")
    for job_id in job_ids:
        assert ledger_of(owner, job_id) == ["debit"]  # charged once, never refunded
        images = owner("SELECT count(*) FROM images WHERE job_id = %s", (job_id,))
        assert images == [(1,)]


@pytest.fixture
def running() -> Iterator[Callable[[Worker], None]]:
    """Runs workers' real loops in threads; stops them at the end."""
    threads: list[tuple[Worker, threading.Thread]] = []

    def start(worker: Worker) -> None:
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        threads.append((worker, thread))

    yield start
    for worker, thread in threads:
        worker.request_stop()
        thread.join(timeout=30)


@pytest.fixture
def only_these_jobs(owner: Any) -> None:
    """A recovery re-enqueues every unfinished job of the database; jobs other tests
    left queued (their messages live in another Redis database) are canceled first."""
    owner("UPDATE jobs SET status = 'canceled' WHERE status IN ('queued', 'running')")


@pytest.fixture
def stale_pools(client: Any, lane_api: Any) -> Iterator[None]:
    """The API's pools hold connections to the PostgreSQL the test restarts: drop them
    afterwards, so later tests do not spend a request finding that out."""
    yield
    for api in (client, lane_api):
        api.app.state.context.db.dispose()


def test_redis_restarting_empty_loses_no_job(
    make_user, submit, make_worker, owner, redis_server, lane, running, only_these_jobs
):
    user = make_user(tier="basic")
    before = [submit(user), submit(user)]
    worker = make_worker(reclaim_idle_seconds=1, heartbeat_seconds=0.3)

    redis_server.stop()
    running(worker)
    # Readiness shows a worker that cannot consume.
    wait_until(lambda: not worker.consuming, 15, "the worker to report it cannot consume")
    redis_server.start()  # empty: no streams, no consumer group, no queued messages
    after = submit(user)  # the API still takes work (its XADD creates a bare stream)

    wait_until(
        lambda: set(statuses(owner, [*before, after]).values()) == {"succeeded"},
        60,
        "every job to succeed",
    )
    assert worker.consuming
    succeeded_once(owner, [*before, after])
    # The group is back, and nothing is left behind in the streams.
    assert lane.queue.lengths() == {"free": 0, "basic": 0, "pro": 0}


def test_a_database_outage_costs_no_attempt(
    make_user, submit, make_worker, owner, database, running, stale_pools
):
    user = make_user(tier="basic")
    jobs = [submit(user) for _ in range(3)]
    worker = make_worker(
        reclaim_idle_seconds=1,
        heartbeat_seconds=0.3,
        max_deliveries=2,
        unavailable_backoff_max_seconds=1,
    )

    database.server.shut_down()
    try:
        running(worker)
        # Longer than the reclaim time and the deliveries allowed, many times over.
        wait_until(lambda: not worker.consuming, 15, "the worker to notice the outage")
        time.sleep(6)
        assert not worker.consuming
    finally:
        database.server.start()

    wait_until(
        lambda: set(statuses(owner, jobs).values()) == {"succeeded"}, 60, "every job to succeed"
    )
    succeeded_once(owner, jobs)


def test_a_postgres_restart_during_the_render_keeps_the_result(
    make_user, submit, make_worker, owner, database, stale_pools
):
    user = make_user(tier="basic")
    job = submit(user, steps=2)
    steps: list[int] = []

    def restart_postgres_once(step: int, total: int) -> None:
        if not steps:
            # The worker's pooled connection (used to start the job) goes stale.
            database.server.shut_down()
            database.server.start()
        steps.append(step)

    worker = make_worker(on_step=restart_postgres_once)

    assert worker.run_once() == "succeeded"
    assert steps == [0, 1]  # rendered once: the final commit did not fail
    succeeded_once(owner, [job])


def health_of(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0  # not listening yet


def test_the_worker_process_reports_when_it_cannot_consume(
    spawn_worker, redis_server, only_these_jobs
):
    worker = spawn_worker()
    worker.wait_for(r"worker ready", timeout=90)
    wait_until(lambda: health_of(worker.metrics_port) == 200, 30, "a ready worker")

    redis_server.stop()
    try:
        wait_until(lambda: health_of(worker.metrics_port) == 503, 30, "an unready worker")
    finally:
        redis_server.start()

    wait_until(lambda: health_of(worker.metrics_port) == 200, 60, "the worker ready again")
