"""The job lifecycle through an in-process worker: the API enqueues, the worker renders
with the tiny pipeline, stores the PNG in (moto) S3 and the result in PostgreSQL."""

from __future__ import annotations

import io
import threading
import time
import urllib.request
import uuid
from typing import Any

import pytest
import redis
from PIL import Image

from app.core.job_errors import JOB_ERRORS
from app.core.queue import JobQueue
from app.devservers import start_redis
from app.store.jobs import JobStore, planned_images
from app.worker.runner import Worker
from tests.support.app import BUCKET, balance_and_ledger
from tests.support.worker import job_status, ledger_keys, message_of, objects_of


def png_of(s3: Any, key: str) -> bytes:
    body: bytes = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return body


def test_a_job_goes_queued_running_succeeded_and_its_png_decodes(
    make_user, submit, make_worker, owner, lane_api, lane, s3
):
    user = make_user(tier="basic")
    job_id = submit(user, width=64, height=96, num_images=2, seed=7)
    assert job_status(owner, job_id) == ("queued", None)
    seen_while_rendering: list[str] = []
    worker: Worker = make_worker(
        on_step=lambda step, total: seen_while_rendering.append(job_status(owner, job_id)[0])
    )

    assert worker.run_once() == "succeeded"

    assert seen_while_rendering == ["running", "running"]  # one per step
    body = lane_api.get(f"/api/generations/{job_id}", headers=user.headers).json()
    assert body["status"] == "succeeded"
    assert body["error"] is None
    assert len(body["images"]) == 2
    for image in body["images"]:
        # Opaque: the URL names neither the owner nor the job.
        assert str(user.id) not in image["url"]
        assert str(job_id) not in image["url"]
        # The URL the API hands out (presigned, served by moto) downloads a real PNG.
        with urllib.request.urlopen(image["url"], timeout=10) as response:  # noqa: S310
            data = response.read()
        decoded = Image.open(io.BytesIO(data))
        assert decoded.format == "PNG"
        assert decoded.size == (64, 96)
    # Keys derived from the job id; the stream is empty and nothing is pending.
    planned = planned_images(message_of(owner, job_id))
    assert objects_of(s3, owner, job_id) == sorted(image.s3_key for image in planned)
    assert lane.queue.lengths() == {"free": 0, "basic": 0, "pro": 0}
    assert lane.redis.xpending(lane.queue.stream("basic"), lane.queue.group)["pending"] == 0
    # Charged once, never refunded.
    assert ledger_keys(owner, job_id) == [(f"debit:{job_id}", -body["cost"])]
    balance, total, _ = balance_and_ledger(owner, user.id)
    assert balance == total


def test_the_same_seed_gives_the_same_bytes(make_user, submit, make_worker, owner, s3):
    user = make_user()
    same = [submit(user, seed=1234, prompt="a red fox") for _ in range(2)]
    other = submit(user, seed=1235, prompt="a red fox")
    worker = make_worker()
    assert [worker.run_once() for _ in range(3)] == ["succeeded"] * 3

    def png(job_id: uuid.UUID) -> bytes:
        [key] = objects_of(s3, owner, job_id)
        return png_of(s3, key)

    assert png(same[0]) == png(same[1])
    assert png(same[0]) != png(other)


def test_a_canceled_job_is_skipped_not_generated(
    make_user, submit, make_worker, owner, lane_api, lane, s3
):
    user = make_user()
    job_id = submit(user)
    assert lane_api.delete(f"/api/generations/{job_id}", headers=user.headers).status_code == 200
    rendered: list[int] = []

    assert make_worker(on_step=lambda step, total: rendered.append(step)).run_once() == "skipped"

    assert rendered == []
    assert job_status(owner, job_id) == ("canceled", None)
    assert objects_of(s3, owner, job_id) == []
    assert lane.queue.lengths()["free"] == 0
    assert [key for key, _ in ledger_keys(owner, job_id)] == [
        f"debit:{job_id}",
        f"refund:{job_id}",
    ]


def test_a_model_the_worker_lacks_fails_the_job_and_refunds_it(
    make_user, submit, make_worker, owner, lane, lane_api
):
    user = make_user()
    before = balance_and_ledger(owner, user.id)[0]
    # In the API's catalogue, but not installed on this worker.
    job_id = submit(user, model="sdxl-base")

    assert make_worker().run_once() == "failed"

    status, error = job_status(owner, job_id)
    assert status == "failed"
    # A stable message and code; the worker's detail (paths, exceptions) stays in its log.
    assert error == JOB_ERRORS["model_unavailable"]
    assert "not installed" not in error
    body = lane_api.get(f"/api/generations/{job_id}", headers=user.headers).json()
    assert (body["error"], body["error_code"]) == (error, "model_unavailable")
    assert balance_and_ledger(owner, user.id)[0] == before
    assert lane.queue.lengths()["free"] == 0


def test_a_job_delivered_too_often_is_dead_lettered_failed_and_refunded_once(
    make_user, submit, make_worker, owner, lane
):
    user = make_user()
    before = balance_and_ledger(owner, user.id)[0]
    job_id = submit(user)
    stream = lane.queue.stream("free")
    # Three workers took it and died (one read, two reclaims).
    lane.queue.read("crashed-1")
    for crashed in ("crashed-2", "crashed-3"):
        assert lane.queue.claim_stale(crashed, "free", min_idle_ms=0)
    time.sleep(0.01)  # idle longer than the worker's 1 ms reclaim threshold
    rendered: list[int] = []
    worker = make_worker(
        on_step=lambda step, total: rendered.append(step),
        reclaim_idle_seconds=0.001,
        max_deliveries=3,
    )

    assert worker.run_once() == "dead_lettered"

    assert rendered == []
    status, error = job_status(owner, job_id)
    assert status == "failed"
    assert error == JOB_ERRORS["gave_up"]
    assert [key for key, _ in ledger_keys(owner, job_id)] == [
        f"debit:{job_id}",
        f"refund:{job_id}",
    ]
    assert balance_and_ledger(owner, user.id)[0] == before
    [(_, dead)] = lane.redis.xrange(lane.queue.dead_letter_stream)
    assert dead["job_id"] == str(job_id)
    assert dead["deliveries"] == "4"
    assert dead["reason"] == "gave up after 3 attempts"
    assert lane.redis.xlen(stream) == 0
    assert lane.redis.xpending(stream, lane.queue.group)["pending"] == 0
    # Failing it again refunds nothing.
    assert JobStore(worker.store.db).fail(message_of(owner, job_id), "gave_up") == 0


def test_a_job_of_a_dead_worker_is_reclaimed_and_completed_once(
    make_user, submit, make_worker, owner, s3
):
    user = make_user()
    job_id = submit(user, num_images=1)
    worker = make_worker(reclaim_idle_seconds=0.001)
    # Another worker took the entry and started the job, then died.
    [delivery] = worker.queue.read("dead-worker")
    lease = worker.options.lease_seconds  # the dead worker's lease has expired by now
    assert worker.store.start(delivery.message, "dead-worker", lease).status == "running"
    assert job_status(owner, job_id)[0] == "running"

    assert worker.run_once() == "succeeded"

    assert job_status(owner, job_id)[0] == "succeeded"
    assert len(objects_of(s3, owner, job_id)) == 1
    assert owner("SELECT count(*) FROM images WHERE job_id = %s", (job_id,)) == [(1,)]
    assert [key for key, _ in ledger_keys(owner, job_id)] == [f"debit:{job_id}"]


def test_recording_a_result_twice_neither_duplicates_nor_reopens(
    make_user, submit, owner, worker_db
):
    user = make_user(tier="basic")
    job_id = submit(user, num_images=2)
    store = JobStore(worker_db)
    message = message_of(owner, job_id)
    assert store.start(message, "worker-1", 60).params == message.params
    planned = planned_images(message)
    assert planned == planned_images(message)  # derived from the job id alone
    assert store.complete(message, planned) is True
    assert store.complete(message, planned) is False  # no longer running
    assert store.start(message, "worker-2", 60).status == "succeeded"  # a late redelivery
    assert store.fail(message, "gave_up") == 0
    assert owner("SELECT count(*) FROM images WHERE job_id = %s", (job_id,)) == [(2,)]
    assert job_status(owner, job_id) == ("succeeded", None)
    # The database refuses a backward move whoever asks.
    with pytest.raises(Exception, match="cannot move from succeeded to running"):
        owner("UPDATE jobs SET status = 'running' WHERE id = %s", (job_id,))


def test_the_heartbeat_keeps_a_long_job_from_being_reclaimed(make_user, submit, make_worker, lane):
    user = make_user()
    submit(user)
    stolen: list[int] = []

    def slow_step(step: int, total: int) -> None:
        if step == 0:
            time.sleep(0.6)  # a step longer than the reclaim idle time (0.3 s)
            stolen.append(len(lane.queue.claim_stale("rival", "free", min_idle_ms=300)))

    worker = make_worker(on_step=slow_step, reclaim_idle_seconds=0.3, heartbeat_seconds=0.1)
    assert worker.run_once() == "succeeded"
    assert stolen == [0]


def test_stopping_mid_job_past_the_grace_period_releases_it_for_immediate_reclaim(
    make_user, submit, make_worker, owner, lane, s3
):
    user = make_user()
    job_id = submit(user, steps=3)
    worker: Worker

    def stop_now(step: int, total: int) -> None:
        worker.request_stop()

    worker = make_worker(on_step=stop_now, grace_seconds=0)
    assert worker.run_once() == "abandoned"
    assert worker.stopping
    assert job_status(owner, job_id)[0] == "running"
    assert objects_of(s3, owner, job_id) == []
    # Released: another worker takes it over at once, whatever its idle threshold.
    [taken] = lane.queue.claim_stale("rescuer", "free", min_idle_ms=60_000)
    assert taken.message.job_id == job_id
    assert taken.delivery_count == 2

    rescuer = make_worker(consumer="rescuer")
    assert rescuer.handle(taken) == "succeeded"
    assert job_status(owner, job_id)[0] == "succeeded"
    assert [key for key, _ in ledger_keys(owner, job_id)] == [f"debit:{job_id}"]


def test_a_stop_within_the_grace_period_lets_the_job_finish(make_user, submit, make_worker, owner):
    user = make_user()
    job_id = submit(user, steps=3)
    worker: Worker

    def stop_now(step: int, total: int) -> None:
        worker.request_stop()

    worker = make_worker(on_step=stop_now, grace_seconds=60)
    assert worker.run_once() == "succeeded"
    assert worker.stopping
    assert job_status(owner, job_id)[0] == "succeeded"


def test_an_unreadable_entry_is_dead_lettered_and_the_next_job_still_runs(
    make_user, submit, make_worker, owner, lane
):
    stream = lane.queue.stream("pro")
    lane.redis.xadd(stream, {"v": "99", "job_id": "not-a-uuid"})
    user = make_user(tier="pro")
    job_id = submit(user)
    worker = make_worker()

    assert worker.run_once() == "succeeded"

    [(_, dead)] = lane.redis.xrange(lane.queue.dead_letter_stream)
    assert dead["v"] == "99"
    assert dead["reason"].startswith("unreadable message")
    assert lane.redis.xlen(stream) == 0
    assert lane.redis.xpending(stream, lane.queue.group)["pending"] == 0
    assert job_status(owner, job_id) == ("succeeded", None)


def test_the_loop_outlives_its_redis_going_away(make_worker, caplog):
    server = start_redis()
    client = redis.Redis.from_url(server.url, decode_responses=True, socket_timeout=2)
    queue = JobQueue(client)
    # A queue in good health (a new, empty Redis would be recovered from the database).
    queue.ensure_groups()
    queue.end_recovery(completed=True)
    worker = make_worker(queue=queue, block_ms=10)
    caplog.set_level("INFO", logger="app.worker.runner")

    def logged(text: str, times: int = 1) -> bool:
        return sum(text in record.getMessage() for record in caplog.records) >= times

    def wait_for(text: str, times: int = 1) -> None:
        deadline = time.monotonic() + 20
        while not logged(text, times):
            assert time.monotonic() < deadline, f"no {text!r} logged"
            time.sleep(0.01)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("app.worker.runner.ERROR_BACKOFF_SECONDS", 0.05)
        loop = threading.Thread(target=worker.run)
        loop.start()
        try:
            wait_for("worker ready")
            server.stop()
            wait_for("worker loop error", times=2)  # logged, backed off, tried again
            assert loop.is_alive()
        finally:
            worker.request_stop()
            loop.join(timeout=20)
    assert not loop.is_alive()
    assert logged("worker stopped")
    client.close()
