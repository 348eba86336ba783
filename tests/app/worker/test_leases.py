"""Issue 25, items 4 and 6: a job a live worker renders is never handed to another one
(a lease in its row), the worker renders the row and not the queue message, and only the
workers' database role may read every user's jobs."""

from __future__ import annotations

import dataclasses

import psycopg
import pytest

from app.store.jobs import JobStore
from app.worker.recovery import QueueRecovery
from tests.support.worker import job_status, message_of


def test_recovery_after_redis_lost_the_queue_skips_jobs_a_live_worker_holds(
    make_user, submit, owner, worker_db, lane
):
    user = make_user(tier="basic")
    held, abandoned = submit(user), submit(user)
    store = JobStore(worker_db)
    assert store.start(message_of(owner, held), "live-worker", 60).status == "running"
    # A worker that died: its lease ran out.
    assert store.start(message_of(owner, abandoned), "dead-worker", 0).status == "running"
    lane.redis.flushdb()  # Redis restarted empty

    QueueRecovery(lane.queue, store).run(data_lost=True)

    requeued = lane.queue.job_ids()
    assert str(held) not in requeued
    assert str(abandoned) in requeued


def test_a_second_delivery_of_a_job_a_live_worker_renders_is_skipped(
    make_user, submit, owner, make_worker, lane, worker_db
):
    user = make_user()
    job_id = submit(user)
    assert JobStore(worker_db).start(message_of(owner, job_id), "live", 60).params is not None

    assert make_worker().run_once() == "skipped"

    assert job_status(owner, job_id) == ("running", None)
    assert owner("SELECT count(*) FROM images WHERE job_id = %s", (job_id,)) == [(0,)]


def test_a_message_rewritten_in_redis_renders_what_the_row_says(
    make_user, submit, owner, make_worker, lane
):
    user = make_user(tier="basic")
    job_id = submit(user, num_images=1, steps=2)
    original = message_of(owner, job_id)
    rewritten = dataclasses.replace(
        original,
        params=dataclasses.replace(original.params, num_images=3, steps=3, prompt="other"),
    )
    lane.redis.delete(lane.queue.stream(original.tier))
    lane.queue.ensure_groups()
    lane.queue.enqueue(rewritten)
    steps: list[int] = []

    assert make_worker(on_step=lambda step, total: steps.append(total)).run_once() == "succeeded"

    assert owner("SELECT count(*) FROM images WHERE job_id = %s", (job_id,)) == [(1,)]
    assert set(steps) == {2}  # the row's steps, for one image


def test_only_the_workers_role_may_read_every_users_jobs(as_app_role, database):
    with as_app_role() as api, pytest.raises(psycopg.errors.InsufficientPrivilege):
        api.execute("SELECT * FROM jobs_to_requeue()")
    with psycopg.connect(
        database.worker_url.replace("postgresql+psycopg://", "postgresql://"),
        options=f"-c search_path={database.schema}",
    ) as worker:
        worker.execute("SELECT * FROM jobs_to_requeue()").fetchall()
