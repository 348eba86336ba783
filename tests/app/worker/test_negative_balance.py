"""A balance made negative by a refunded payment never keeps a job from its final state:
the worker fails and refunds it at once, with its real error code."""

from __future__ import annotations

import time
import uuid

from tests.support.app import balance_and_ledger
from tests.support.worker import job_status, ledger_keys


def take_back(owner, user_id: uuid.UUID, credits: int) -> None:
    """What a refunded purchase does to a user who spent it: the balance goes negative."""
    owner(
        "WITH changed AS (UPDATE users SET credits = credits - %s WHERE id = %s RETURNING credits)"
        " INSERT INTO credit_ledger (user_id, key, kind, amount, balance_after)"
        " SELECT %s, %s, 'purchase_refunded', %s, credits FROM changed",
        (credits, user_id, user_id, f"order-refund:{uuid.uuid4()}", -credits),
    )


def test_a_failing_job_of_a_user_in_debt_fails_at_once_with_its_code(
    make_user, submit, make_worker, owner, lane
):
    user = make_user()
    job_id = submit(user, model="sdxl-base")  # in the catalogue, not on this worker
    take_back(owner, user.id, 100)
    before = balance_and_ledger(owner, user.id)[0]
    assert before < 0

    assert make_worker().run_once() == "failed"

    assert job_status(owner, job_id)[0] == "failed"
    assert owner("SELECT error_code FROM jobs WHERE id = %s", (job_id,)) == [("model_unavailable",)]
    balance, total, _ = balance_and_ledger(owner, user.id)
    assert balance == total == before + 1
    assert lane.queue.lengths()["free"] == 0


def test_a_job_delivered_too_often_is_dead_lettered_whatever_the_balance(
    make_user, submit, make_worker, owner, lane
):
    user = make_user()
    job_id = submit(user)
    take_back(owner, user.id, 100)
    lane.queue.read("crashed-1")
    for crashed in ("crashed-2", "crashed-3"):
        assert lane.queue.claim_stale(crashed, "free", min_idle_ms=0)
    time.sleep(0.01)

    worker = make_worker(reclaim_idle_seconds=0.001, max_deliveries=3)

    assert worker.run_once() == "dead_lettered"
    assert owner("SELECT status, error_code FROM jobs WHERE id = %s", (job_id,)) == [
        ("failed", "gave_up")
    ]
    assert [key for key, _ in ledger_keys(owner, job_id)] == [
        f"debit:{job_id}",
        f"refund:{job_id}",
    ]
