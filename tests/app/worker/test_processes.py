"""``python -m app.worker`` as real processes: killed with SIGKILL mid-job, stopped with
SIGTERM mid-job, and two workers under random kills working through 50 jobs."""

from __future__ import annotations

import random
import re
import time
import urllib.request
import uuid
from typing import Any

from tests.support.app import balance_and_ledger
from tests.support.worker import job_status, ledger_keys, objects_of

# ~2-3 s on one CPU thread: long enough to be interrupted mid-job.
LONG_JOB = {"width": 128, "height": 128, "steps": 10}


def wait_until_final(owner: Any, job_ids: list[uuid.UUID], timeout: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        rows = owner(
            "SELECT id::text, status FROM jobs WHERE id = ANY(%s)", ([str(j) for j in job_ids],)
        )
        statuses = dict(rows)
        if all(status in ("succeeded", "failed", "canceled") for status in statuses.values()):
            return statuses
        if time.monotonic() > deadline:
            unfinished = {job: s for job, s in statuses.items() if s in ("queued", "running")}
            raise AssertionError(f"jobs not final after {timeout} s: {unfinished}")
        time.sleep(0.2)  # polling the database, not synchronising on time


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text: str = response.read().decode()
    return text


def test_a_worker_killed_mid_job_leaves_it_to_another_which_completes_it_once(
    make_user, submit, spawn_worker, owner, s3
):
    user = make_user()
    before = balance_and_ledger(owner, user.id)[0]
    workers = [spawn_worker(), spawn_worker()]
    for worker in workers:
        worker.wait_for(r"worker ready", timeout=90)
    job_id = submit(user, **LONG_JOB)

    started = {
        index: len(worker.lines) for index, worker in enumerate(workers)
    }  # lines seen so far
    victim_index = None
    deadline = time.monotonic() + 60
    while victim_index is None:
        for index, worker in enumerate(workers):
            if any(
                f"job started job_id={job_id}" in line for line in worker.lines[started[index] :]
            ):
                victim_index = index
        assert time.monotonic() < deadline, "no worker started the job"
        if victim_index is None:
            time.sleep(0.02)
    victim, survivor = workers[victim_index], workers[1 - victim_index]
    victim.kill()
    assert job_status(owner, job_id)[0] == "running"  # killed mid-job, not after

    survivor.wait_for(rf"job succeeded job_id={job_id}", timeout=60)
    assert survivor.wait_for(rf"job started job_id={job_id} .* delivery=(\d+)").group(1) == "2"
    assert job_status(owner, job_id) == ("succeeded", None)
    assert len(objects_of(s3, owner, job_id)) == 1
    assert owner("SELECT count(*) FROM images WHERE job_id = %s", (job_id,)) == [(1,)]
    debit = ledger_keys(owner, job_id)
    assert [key for key, _ in debit] == [f"debit:{job_id}"]
    assert balance_and_ledger(owner, user.id)[0] == before + debit[0][1]


def test_sigterm_during_a_job_finishes_it_and_exits_cleanly(make_user, submit, spawn_worker, owner):
    user = make_user()
    worker = spawn_worker(WORKER_GRACE_SECONDS="60")
    worker.wait_for(r"worker ready", timeout=90)
    first = submit(user)
    worker.wait_for(rf"job succeeded job_id={first}", timeout=60)
    metrics = scrape(worker.metrics_port)
    assert 'worker_jobs_total{outcome="succeeded"} 1.0' in metrics
    assert 'generation_duration_seconds_count{model="tiny-sd"} 1.0' in metrics
    assert re.search(r'queue_length\{tier="free"\} 0\.0', metrics)

    second = submit(user, **LONG_JOB)
    worker.wait_for(rf"job started job_id={second}", timeout=30)
    worker.terminate()

    assert worker.process.wait(timeout=60) == 0
    worker.wait_for(r"worker stopped")
    assert job_status(owner, second) == ("succeeded", None)
    assert not any("Traceback" in line for line in worker.lines)


def test_fifty_jobs_through_two_workers_with_random_kills_all_end_settled(
    make_user, submit, spawn_worker, owner, lane_api, lane
):
    rng = random.Random(20261128)  # noqa: S311 - a reproducible schedule, not a secret
    users = [make_user(credits=500, tier=tier) for tier in ("free", "basic", "pro", "pro", "free")]
    initial = {user.id: balance_and_ledger(owner, user.id)[0] for user in users}
    environment = {"WORKER_MAX_DELIVERIES": "3", "WORKER_RECLAIM_IDLE_SECONDS": "1"}
    workers = [spawn_worker(**environment), spawn_worker(**environment)]
    for worker in workers:
        worker.wait_for(r"worker ready", timeout=90)

    jobs: dict[uuid.UUID, Any] = {}
    for index in range(50):
        user = rng.choice(users)
        body: dict[str, Any] = {"seed": index, "num_images": 1 + (index % 2)}
        if user.id == users[0].id or user.id == users[4].id:
            body["num_images"] = 1  # the free tier's bound
        if index % 10 == 3:
            body["model"] = "sdxl-base"  # not on the workers: fails and is refunded
        if index % 7 == 5:
            body.update(width=128, height=128, steps=6)
        jobs[submit(user, **body)] = user
    canceled = 0
    for job_id in rng.sample(sorted(jobs), 3):
        answer = lane_api.delete(f"/api/generations/{job_id}", headers=jobs[job_id].headers)
        assert answer.status_code in (200, 409)  # 409: a worker got there first
        canceled += answer.status_code == 200

    # Kill a worker when it has just started its n-th job, for three random n.
    kill_at = set(rng.sample(range(4, 40), 3))
    starts_seen = [0, 0]
    lines_seen = [0, 0]
    kills = 0
    deadline = time.monotonic() + 150
    while kills < len(kill_at) and time.monotonic() < deadline:
        for index, worker in enumerate(workers):
            new_lines = worker.lines[lines_seen[index] :]
            lines_seen[index] += len(new_lines)
            for line in new_lines:
                if "job started" in line:
                    starts_seen[index] += 1
                    if sum(starts_seen) in kill_at:
                        worker.kill()
                        kills += 1
                        workers[index] = spawn_worker(**environment)
                        lines_seen[index] = 0
                        break
        unfinished = owner(
            "SELECT count(*) FROM jobs WHERE id = ANY(%s) AND status IN ('queued', 'running')",
            ([str(j) for j in jobs],),
        )[0][0]
        if unfinished == 0:
            break
        time.sleep(0.05)

    statuses = wait_until_final(owner, list(jobs), timeout=150)

    assert kills >= 1
    by_status = {s: sum(1 for v in statuses.values() if v == s) for s in set(statuses.values())}
    assert by_status.get("succeeded", 0) >= 30, by_status
    assert by_status.get("canceled", 0) == canceled
    for job_id in jobs:
        status = statuses[str(job_id)]
        keys = [key for key, _ in ledger_keys(owner, job_id)]
        images = owner("SELECT count(*) FROM images WHERE job_id = %s", (job_id,))[0][0]
        wanted = owner("SELECT num_images FROM jobs WHERE id = %s", (job_id,))[0][0]
        if status == "succeeded":
            assert keys == [f"debit:{job_id}"], (job_id, keys)
            assert images == wanted
        else:
            assert keys == [f"debit:{job_id}", f"refund:{job_id}"], (job_id, status, keys)
            assert images == 0
    for user in users:
        balance, total, _ = balance_and_ledger(owner, user.id)
        assert balance == total  # the ledger balances to the credit
        spent = owner(
            "SELECT coalesce(sum(cost), 0) FROM jobs WHERE user_id = %s AND status = 'succeeded'",
            (user.id,),
        )[0][0]
        assert balance == initial[user.id] - spent
    # Nothing left queued or pending.
    assert lane.queue.lengths() == {"free": 0, "basic": 0, "pro": 0}
    for tier in ("free", "basic", "pro"):
        pending = lane.redis.xpending(lane.queue.stream(tier), lane.queue.group)["pending"]
        assert pending == 0
    for worker in workers:
        worker.terminate()
    for worker in workers:
        assert worker.process.wait(timeout=30) == 0


def test_a_worker_killed_mid_batch_leaves_each_job_to_be_rerun_once_and_charged_once(
    make_user, submit, spawn_worker, owner, s3
):
    user = make_user()
    before = balance_and_ledger(owner, user.id)[0]
    # Queued before any worker runs: the first one takes all three into one call.
    jobs = [submit(user, prompt=f"job {n}", **LONG_JOB) for n in range(3)]
    victim = spawn_worker(WORKER_BATCH_SIZE="3")
    for job_id in jobs:
        victim.wait_for(rf"job started job_id={job_id} .* delivery=1", timeout=90)
    victim.kill()
    assert [job_status(owner, job_id)[0] for job_id in jobs] == ["running"] * 3
    assert owner("SELECT count(*) FROM images WHERE job_id = ANY(%s)", (jobs,)) == [(0,)]

    survivor = spawn_worker(WORKER_BATCH_SIZE="3")
    statuses = wait_until_final(owner, jobs, timeout=120)

    assert set(statuses.values()) == {"succeeded"}
    for job_id in jobs:
        assert survivor.wait_for(rf"job started job_id={job_id} .* delivery=(\d+)").group(1) == "2"
        assert len(objects_of(s3, owner, job_id)) == 1
        assert owner("SELECT count(*) FROM images WHERE job_id = %s", (job_id,)) == [(1,)]
        assert [key for key, _ in ledger_keys(owner, job_id)] == [f"debit:{job_id}"]
    debits = sum(amount for job_id in jobs for _, amount in ledger_keys(owner, job_id))
    assert balance_and_ledger(owner, user.id)[0] == before + debits
