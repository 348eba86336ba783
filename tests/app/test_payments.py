"""Lemon Squeezy: checkout, the signed webhook (exactly-once credits, tiers), the ledger."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

import pytest

from tests.support.app import VARIANTS, balance_and_ledger, problems
from tests.support.payments import invoice, order, subscription


def test_order_credits_exactly_once(send, user, owner, client):
    event = order(user.id, "credits-500", order_id="9001")

    first = send(event)
    replay = send(event)

    assert first.status_code == 200
    assert first.json() == {"status": "processed", "credited": 500}
    assert replay.json() == {"status": "duplicate", "credited": 0}
    assert balance_and_ledger(owner, user.id) == (550, 550, 2)
    assert owner(
        "SELECT key, amount FROM credit_ledger WHERE kind = 'purchase' AND user_id = %s", (user.id,)
    ) == [("order:9001", 500)]
    assert client.get("/api/users/me", headers=user.headers).json()["credits"] == 550


def test_the_same_order_under_a_changed_payload_is_still_credited_once(send, user, owner):
    send(order(user.id, "credits-100", order_id="9100"))
    changed = order(user.id, "credits-100", order_id="9100")
    changed["data"]["attributes"]["note"] = "redelivered"
    assert send(changed).json()["status"] == "duplicate"
    assert balance_and_ledger(owner, user.id)[0] == 150


def test_unpaid_orders_and_subscription_orders_credit_nothing(send, user, owner):
    assert send(order(user.id, "credits-100", status="pending")).json()["status"] == "ignored"
    assert send(order(user.id, "pro")).json()["status"] == "ignored"
    assert balance_and_ledger(owner, user.id) == (50, 50, 1)


@pytest.mark.parametrize("signature", ["", "deadbeef", "0" * 64, b"\xe9" * 64])
def test_a_bad_signature_is_refused_and_changes_nothing(send, user, owner, signature):
    response = send(order(user.id, "credits-500"), signature=signature)
    assert response.status_code == 401
    assert response.json()["detail"] == "invalid signature"
    assert balance_and_ledger(owner, user.id) == (50, 50, 1)


def test_a_body_changed_after_signing_is_refused(client, settings, user, owner):
    secret = settings.lemonsqueezy_webhook_secret.get_secret_value()
    signed_body = json.dumps(order(user.id, "credits-100")).encode()
    signature = hmac.new(secret.encode(), signed_body, hashlib.sha256).hexdigest()
    tampered = signed_body.replace(b'"101"', b'"105"').replace(b"101", b"105")
    response = client.post(
        "/api/payments/webhook", content=tampered, headers={"X-Signature": signature}
    )
    assert response.status_code == 401
    assert balance_and_ledger(owner, user.id)[0] == 50


def test_signed_but_malformed_events_are_4xx(send, user):
    assert send({}, raw=b"not json").status_code == 422
    assert send({"meta": {"event_name": "order_created"}, "data": {}}).status_code == 422
    unknown_user = order(uuid.uuid4(), "credits-100")
    response = send(unknown_user)
    assert response.status_code == 422
    assert "body.meta.custom_data.user_id: custom_data.user_id is unknown" in problems(response)


def test_subscription_lifecycle_sets_tiers_and_credits_each_invoice_once(send, user, owner, client):
    sub_id = str(uuid.uuid4().int % 10**8)

    early = send(invoice(user.id, sub_id, "inv-0"))
    # The subscription is not known yet: recorded, credited when it is.
    assert early.json() == {"status": "pending", "credited": 0}

    created = send(
        subscription(
            user.id, "subscription_created", "basic", "active", sub_id, "2026-01-01T00:00:00Z"
        )
    )
    assert created.json() == {"status": "processed", "credited": 1000}
    assert client.get("/api/users/me", headers=user.headers).json()["tier"] == "basic"

    assert send(invoice(user.id, sub_id, "inv-0")).json()["status"] == "duplicate"
    assert send(invoice(user.id, sub_id, "inv-1")).json()["credited"] == 1000

    upgraded = subscription(
        user.id, "subscription_updated", "pro", "active", sub_id, "2026-02-01T00:00:00Z"
    )
    assert send(upgraded).json()["status"] == "processed"
    assert client.get("/api/users/me", headers=user.headers).json()["tier"] == "pro"
    late_in_pro = invoice(user.id, sub_id, "inv-2", created_at="2026-02-15T00:00:00Z")
    assert send(late_in_pro).json()["credited"] == 5000

    expired = subscription(
        user.id, "subscription_expired", "pro", "expired", sub_id, "2026-03-01T00:00:00Z"
    )
    send(expired)
    assert client.get("/api/users/me", headers=user.headers).json()["tier"] == "free"
    assert balance_and_ledger(owner, user.id) == (7050, 7050, 4)


def test_checkout_returns_the_provider_url_with_our_user_id(client, user, providers, settings):
    response = client.post(
        "/api/payments/checkout", json={"variant": "credits-500"}, headers=user.headers
    )
    assert response.status_code == 200
    assert response.json() == {"url": "https://pay.example/c-1"}
    sent = [r for r in providers.requests if r["path"] == "/v1/checkouts"][-1]
    assert sent["path"] == "/v1/checkouts"
    assert (
        sent["headers"]["Authorization"]
        == f"Bearer {settings.lemonsqueezy_api_key.get_secret_value()}"
    )
    data = sent["body"]["data"]
    assert data["attributes"]["checkout_data"]["custom"] == {"user_id": str(user.id)}
    assert data["relationships"]["variant"]["data"]["id"] == VARIANTS["credits-500"]
    assert data["relationships"]["store"]["data"]["id"] == "4242"


def test_checkout_refuses_unknown_variants(client, user):
    response = client.post("/api/payments/checkout", json={"variant": "gold"}, headers=user.headers)
    assert response.status_code == 422
    assert "body.variant: unknown variant 'gold'" in problems(response)
    assert client.post("/api/payments/checkout", json={"variant": "basic"}).status_code == 401


def test_checkout_provider_failure_is_502(make_client, user):
    from app.devservers import free_port

    broken = make_client(lemonsqueezy_api_url=f"http://127.0.0.1:{free_port()}")
    response = broken.post("/api/payments/checkout", json={"variant": "pro"}, headers=user.headers)
    assert response.status_code == 502


def test_without_credentials_payments_answer_503_and_credit_nothing(make_client, user, providers):
    # A pr-<N> preview has no Lemon Squeezy credentials: payments are off, not faked.
    unpaid = make_client(lemonsqueezy_api_key=None, lemonsqueezy_webhook_secret=None)
    calls = len(providers.requests)
    response = unpaid.post("/api/payments/checkout", json={"variant": "pro"}, headers=user.headers)
    assert response.status_code == 503
    assert response.json() == {"detail": "payments are not configured in this environment"}
    body = json.dumps(order(user.id, "credits-500")).encode()
    webhook = unpaid.post("/api/payments/webhook", content=body, headers={"X-Signature": "0" * 64})
    assert webhook.status_code == 503
    assert len(providers.requests) == calls  # nothing reached the provider
    balance = unpaid.get("/api/users/me", headers=user.headers).json()
    assert balance["tier"] == "free"


def test_ledger_lists_own_entries_newest_first(send, client, user, make_user):
    other = make_user()
    send(order(user.id, "credits-100"))
    client.post("/api/generations", headers=user.headers, json={"prompt": "x", "model": "tiny-sd"})
    page = client.get("/api/payments/ledger", headers=user.headers).json()
    assert [entry["kind"] for entry in page["items"]] == ["debit", "purchase", "signup"]
    assert [entry["balance_after"] for entry in page["items"]] == [149, 150, 50]
    assert page["next_offset"] is None
    assert [
        e["kind"] for e in client.get("/api/payments/ledger", headers=other.headers).json()["items"]
    ] == ["signup"]


def test_an_oversized_webhook_is_413(client):
    response = client.post(
        "/api/payments/webhook", content=b"x" * (256 * 1024 + 1), headers={"X-Signature": "0"}
    )
    assert response.status_code == 413


def refund_of(event: dict[str, Any], name: str) -> dict[str, Any]:
    return {**event, "meta": {**event["meta"], "event_name": name}}


def test_a_refunded_order_takes_back_its_credits_even_when_spent(send, user, owner, client):
    bought = order(user.id, "credits-100")
    assert send(bought).json() == {"status": "processed", "credited": 100}
    job = {"prompt": "x", "model": "tiny-sd", "width": 512, "height": 512, "steps": 25}
    for _ in range(80):  # spend 80 of the 150
        assert client.post("/api/generations", headers=user.headers, json=job).status_code == 202

    refunded = send(refund_of(bought, "order_refunded"))

    assert refunded.json() == {"status": "processed", "credited": -100}
    assert balance_and_ledger(owner, user.id)[:2] == (-30, -30)
    # A negative balance refuses new jobs; a replayed refund takes nothing more.
    refused = client.post("/api/generations", headers=user.headers, json=job)
    assert refused.status_code == 402
    assert send(refund_of(bought, "order_refunded")).json()["status"] == "duplicate"
    assert balance_and_ledger(owner, user.id)[0] == -30


def test_a_refunded_invoice_takes_back_its_allowance(send, user, owner):
    sub_id = str(uuid.uuid4().int % 10**8)
    created = subscription(
        user.id, "subscription_created", "basic", "active", sub_id, "2026-01-01T00:00:00Z"
    )
    send(created)
    paid = invoice(user.id, sub_id, f"inv-{uuid.uuid4().hex[:8]}")
    assert send(paid).json()["credited"] == 1000

    refunded = send(refund_of(paid, "subscription_payment_refunded"))

    assert refunded.json() == {"status": "processed", "credited": -1000}
    assert balance_and_ledger(owner, user.id)[0] == 50


def test_test_mode_and_free_orders_credit_nothing_in_a_live_store(send, user, owner):
    in_test_mode = order(user.id, "credits-500")
    in_test_mode["meta"]["test_mode"] = True
    free = order(user.id, "credits-500")
    free["data"]["attributes"]["total"] = 0

    assert send(in_test_mode).json() == {"status": "ignored", "credited": 0}
    assert send(free).json() == {"status": "ignored", "credited": 0}
    assert balance_and_ledger(owner, user.id)[0] == 50


def test_a_test_mode_store_takes_test_mode_orders(make_client, settings, user, owner):
    test_store = make_client(lemonsqueezy_test_mode=True)
    event = order(user.id, "credits-100")
    event["meta"]["test_mode"] = True
    body = json.dumps(event).encode()
    secret = settings.lemonsqueezy_webhook_secret.get_secret_value().encode()
    signature = hmac.new(secret, body, hashlib.sha256).hexdigest()

    response = test_store.post(
        "/api/payments/webhook",
        content=body,
        headers={"X-Signature": signature, "Content-Type": "application/json"},
    )

    assert response.json() == {"status": "processed", "credited": 100}
    assert balance_and_ledger(owner, user.id)[0] == 150


def sub_event(user, event: str, variant: str, status: str, sub_id: str, at: str):
    return subscription(user.id, event, variant, status, sub_id, at)


def test_a_late_older_event_does_not_undo_an_expiry(send, user, client):
    sub_id = str(uuid.uuid4().int % 10**8)
    send(sub_event(user, "subscription_created", "pro", "active", sub_id, "2026-01-01T00:00:00Z"))
    send(sub_event(user, "subscription_expired", "pro", "expired", sub_id, "2026-03-01T00:00:00Z"))

    late = send(
        sub_event(user, "subscription_updated", "pro", "active", sub_id, "2026-02-01T00:00:00Z")
    )

    assert late.json()["status"] == "ignored"  # recorded, older than what we know
    assert client.get("/api/users/me", headers=user.headers).json()["tier"] == "free"


def test_an_old_subscription_expiring_leaves_the_paid_up_one(send, user, client):
    basic, pro = (str(uuid.uuid4().int % 10**8) for _ in range(2))
    send(sub_event(user, "subscription_created", "basic", "active", basic, "2026-01-01T00:00:00Z"))
    send(sub_event(user, "subscription_created", "pro", "active", pro, "2026-02-01T00:00:00Z"))

    send(sub_event(user, "subscription_expired", "basic", "expired", basic, "2026-02-02T00:00:00Z"))

    assert client.get("/api/users/me", headers=user.headers).json()["tier"] == "pro"
    # The Pro subscription's invoices still credit (no 409), each its own plan's allowance.
    assert send(invoice(user.id, pro, f"inv-{uuid.uuid4().hex[:8]}")).json()["credited"] == 5000
    assert send(invoice(user.id, basic, f"inv-{uuid.uuid4().hex[:8]}")).json()["credited"] == 1000


def test_an_invoice_grants_its_own_plan_not_the_users_tier(send, user):
    basic, pro = (str(uuid.uuid4().int % 10**8) for _ in range(2))
    send(sub_event(user, "subscription_created", "basic", "active", basic, "2026-01-01T00:00:00Z"))
    send(sub_event(user, "subscription_created", "pro", "active", pro, "2026-01-02T00:00:00Z"))

    assert send(invoice(user.id, basic, f"inv-{uuid.uuid4().hex[:8]}")).json()["credited"] == 1000
