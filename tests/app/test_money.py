"""The money paths' edges: a negative balance, refunds before orders, partial refunds,
invoices after plan changes, and webhooks that must be a 4xx, not a 500."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest

from tests.support.app import balance_and_ledger
from tests.support.payments import invoice, order, subscription

JOB = {"prompt": "x", "model": "tiny-sd", "width": 512, "height": 512, "steps": 25}


def refund(event: dict[str, Any], name: str, total: int = 999, refunded: int = 999):
    attributes = {**event["data"]["attributes"], "total": total, "refunded_amount": refunded}
    return {
        "meta": {**event["meta"], "event_name": name},
        "data": {**event["data"], "attributes": attributes},
    }


def negative_balance(send, client, user) -> str:
    """Buy 100, queue a job, spend the rest, refund the purchase: the balance is negative
    with a queued job. Returns the queued job's id."""
    bought = order(user.id, "credits-100")
    send(bought)
    queued = client.post("/api/generations", headers=user.headers, json=JOB).json()["id"]
    while client.post("/api/generations", headers=user.headers, json=JOB).status_code == 202:
        pass
    assert send(refund(bought, "order_refunded")).json()["credited"] == -100
    return str(queued)


def test_a_negative_balance_never_blocks_canceling_a_queued_job(send, client, user, owner):
    job_id = negative_balance(send, client, user)
    assert balance_and_ledger(owner, user.id)[0] == -100

    canceled = client.delete(f"/api/generations/{job_id}", headers=user.headers)

    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["refunded"] == 1
    balance, total, _ = balance_and_ledger(owner, user.id)
    assert balance == total == -99
    # New jobs still need the balance to cover them.
    assert client.post("/api/generations", headers=user.headers, json=JOB).status_code == 402


def test_the_database_takes_a_refund_at_a_negative_balance_but_no_debit(owner, user):
    entry = "INSERT INTO credit_ledger (user_id, key, kind, amount, balance_after) VALUES"
    owner(f"{entry} (%s, %s, 'refund', 5, -5)", (user.id, f"refund:{uuid.uuid4()}"))
    with pytest.raises(psycopg.errors.CheckViolation):
        owner(f"{entry} (%s, %s, 'debit', -5, -10)", (user.id, f"debit:{uuid.uuid4()}"))


def test_a_refund_before_its_order_leaves_the_order_crediting_nothing(send, user, owner):
    bought = order(user.id, "credits-500")

    early = send(refund(bought, "order_refunded"))
    late = send(bought)

    assert early.json() == {"status": "processed", "credited": 0}
    assert late.json() == {"status": "processed", "credited": 0}
    assert balance_and_ledger(owner, user.id)[:2] == (50, 50)
    # Replays of either change nothing.
    assert send(bought).json()["status"] == "duplicate"
    assert send(refund(bought, "order_refunded")).json()["status"] == "duplicate"


def test_a_partial_refund_before_its_order_credits_the_rest(send, user, owner):
    bought = order(user.id, "credits-100")
    send(refund(bought, "order_refunded", total=1000, refunded=250))
    assert send(bought).json()["credited"] == 75
    assert balance_and_ledger(owner, user.id)[:2] == (125, 125)


def test_a_partial_refund_takes_back_its_share_rounded_down(send, user, owner):
    bought = order(user.id, "credits-100")
    send(bought)

    tenth = send(refund(bought, "order_refunded", total=999, refunded=100))
    half = send(refund(bought, "order_refunded", total=999, refunded=500))
    late_tenth = send(refund(bought, "order_refunded", total=999, refunded=100))

    # floor(100 * 100 / 999) = 10, then floor(100 * 500 / 999) = 50 in all.
    assert tenth.json() == {"status": "processed", "credited": -10}
    assert half.json() == {"status": "processed", "credited": -40}
    assert late_tenth.json()["status"] == "duplicate"
    # A refund beyond the total takes back the pack, never more.
    assert send(refund(bought, "order_refunded", total=999, refunded=5000)).json()["credited"] == (
        -50
    )
    assert balance_and_ledger(owner, user.id)[:2] == (50, 50)


@pytest.mark.parametrize(
    ("before", "after", "credited"), [("pro", "basic", 5000), ("basic", "pro", 1000)]
)
def test_a_late_invoice_is_credited_at_the_plan_it_was_issued_under(
    send, user, owner, before, after, credited
):
    sub_id = str(uuid.uuid4().int % 10**8)
    send(
        subscription(
            user.id, "subscription_created", before, "active", sub_id, "2026-01-01T00:00:00Z"
        )
    )
    send(
        subscription(
            user.id, "subscription_updated", after, "active", sub_id, "2026-02-01T00:00:00Z"
        )
    )

    late = send(invoice(user.id, sub_id, f"inv-{uuid.uuid4().hex[:8]}", "2026-01-15T00:00:00Z"))

    assert late.json() == {"status": "processed", "credited": credited}
    assert balance_and_ledger(owner, user.id)[:2] == (50 + credited, 50 + credited)


def test_an_invoice_is_repriced_when_an_older_plan_event_arrives_late(send, user, owner):
    sub_id = str(uuid.uuid4().int % 10**8)
    send(
        subscription(
            user.id, "subscription_updated", "basic", "active", sub_id, "2026-02-01T00:00:00Z"
        )
    )
    paid = invoice(user.id, sub_id, f"inv-{uuid.uuid4().hex[:8]}", "2026-01-15T00:00:00Z")
    assert send(paid).json()["credited"] == 1000  # the only plan known

    created = send(
        subscription(
            user.id, "subscription_created", "pro", "active", sub_id, "2026-01-01T00:00:00Z"
        )
    )

    assert created.json() == {"status": "processed", "credited": 4000}
    assert balance_and_ledger(owner, user.id)[:2] == (5050, 5050)


def test_a_signed_deeply_nested_webhook_is_422_json(send, user):
    deep = (
        json.dumps(order(user.id, "credits-100"))[:-1]
        + ', "x": '
        + "[" * 100_000
        + "]" * 100_000
        + "}"
    )
    response = send({}, raw=deep.encode())
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"


def test_a_subscription_owned_by_another_user_is_422_json(send, make_user, owner):
    owner_user, other = make_user(), make_user()
    sub_id = str(uuid.uuid4().int % 10**8)
    send(
        subscription(
            owner_user.id, "subscription_created", "pro", "active", sub_id, "2026-01-01T00:00:00Z"
        )
    )

    hijack = send(
        subscription(
            other.id, "subscription_updated", "pro", "active", sub_id, "2026-02-01T00:00:00Z"
        )
    )

    assert hijack.status_code == 422
    assert hijack.headers["content-type"] == "application/json"
    assert owner("SELECT user_id FROM subscriptions WHERE id = %s", (sub_id,)) == [(owner_user.id,)]


def test_a_refund_naming_another_users_order_is_422_json(send, make_user, owner):
    first, second = make_user(), make_user()
    bought = order(first.id, "credits-100")
    send(bought)
    in_second_name = refund(
        order(second.id, "credits-100", order_id=bought["data"]["id"]), "order_refunded"
    )

    response = send(in_second_name)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"
    assert balance_and_ledger(owner, first.id)[0] == 150
    assert balance_and_ledger(owner, second.id)[0] == 50
