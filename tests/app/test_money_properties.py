"""Property tests of the money paths against the real PostgreSQL: random interleavings of
orders, full and partial refunds (before or after their order), subscription invoices,
plan changes, job debits and cancels, with duplicates of any.

For every example two fresh users receive the same payment facts, the first in the
drawn order with jobs in between, the second in another order and without jobs. Then:
balance = sum of the ledger for both; each payment's ledger entries are as many as its
row counts and add up to what it holds; the payments' net credit is the same for both
users and equals the model's (the rules of app/store/payments.py); the tier is the same;
nothing was answered 5xx; a refund never takes back more than its payment granted.
"""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.app import balance_and_ledger
from tests.support.payments import order, subscription

TOTAL = 1000  # every payment's price in cents
ORDERS = {0: ("credits-100", 100), 1: ("credits-500", 500)}
# (tier, updated_at) of each plan event of the one subscription.
PLANS = {
    0: ("basic", "2026-01-01T00:00:00Z"),
    1: ("pro", "2026-02-01T00:00:00Z"),
    2: ("basic", "2026-03-01T00:00:00Z"),
}
INVOICES = {0: "2026-01-15T00:00:00Z", 1: "2026-02-15T00:00:00Z", 2: "2026-03-15T00:00:00Z"}
ALLOWANCE = {"basic": 1000, "pro": 5000}
PAYMENT_KINDS = "('purchase', 'purchase_refunded', 'subscription', 'subscription_refunded')"

payment_facts = st.one_of(
    st.tuples(st.just("order"), st.sampled_from(list(ORDERS))),
    st.tuples(
        st.just("order_refund"), st.sampled_from(list(ORDERS)), st.sampled_from([100, 500, 1000])
    ),
    st.tuples(st.just("plan"), st.sampled_from(list(PLANS))),
    st.tuples(st.just("invoice"), st.sampled_from(list(INVOICES))),
    st.tuples(
        st.just("invoice_refund"), st.sampled_from(list(INVOICES)), st.sampled_from([500, 1000])
    ),
)
job_steps = st.tuples(st.sampled_from(["job", "cancel"]))
interleavings = st.lists(
    st.one_of(payment_facts, payment_facts, job_steps), min_size=1, max_size=14
)


def event(user_id: uuid.UUID, ids: str, fact: tuple[Any, ...]) -> dict[str, Any]:
    """The webhook for a fact; ``ids`` makes the provider's ids this user's own."""
    name, index, *rest = fact
    if name in ("order", "order_refund"):
        body = order(user_id, ORDERS[index][0], order_id=f"{ids}-o{index}")
        body["data"]["attributes"]["total"] = TOTAL
    elif name == "plan":
        tier, at = PLANS[index]
        created = "subscription_created" if index == 0 else "subscription_updated"
        return subscription(user_id, created, tier, "active", f"{ids}-sub", at)
    else:
        body = {
            "meta": {
                "event_name": "subscription_payment_success",
                "custom_data": {"user_id": str(user_id)},
            },
            "data": {
                "type": "subscription-invoices",
                "id": f"{ids}-i{index}",
                "attributes": {
                    "subscription_id": f"{ids}-sub",
                    "status": "paid",
                    "total": TOTAL,
                    "created_at": INVOICES[index],
                },
            },
        }
    if rest:
        body["meta"]["event_name"] = (
            "order_refunded" if name == "order_refund" else "subscription_payment_refunded"
        )
        body["data"]["attributes"]["refunded_amount"] = rest[0]
    return body


def net(granted: int | None, refunds: list[int]) -> int:
    """A payment's credits in the model: floor of the refunded share taken back."""
    if granted is None:
        return 0
    return granted - granted * max(refunds, default=0) // TOTAL


def expected(facts: set[tuple[Any, ...]]) -> int:
    refunds = lambda kind, index: [f[2] for f in facts if f[:2] == (kind, index)]  # noqa: E731
    total = sum(
        net(credits if ("order", i) in facts else None, refunds("order_refund", i))
        for i, (_, credits) in ORDERS.items()
    )
    plans = sorted(PLANS[index] for (name, index, *_) in facts if name == "plan")
    plans.sort(key=lambda plan: plan[1])
    for index, issued in INVOICES.items():
        if ("invoice", index) not in facts or not plans:
            continue
        before = [tier for tier, at in plans if at <= issued]
        tier = before[-1] if before else plans[0][0]
        total += net(ALLOWANCE[tier], refunds("invoice_refund", index))
    return total


def check_ledger(owner: Any, user_id: uuid.UUID) -> int:
    """Invariants of one user; returns the payments' net credit."""
    balance, total, _ = balance_and_ledger(owner, user_id)
    assert balance == total
    for kind, provider_id, granted, credited, entries in owner(
        "SELECT kind, provider_id, granted, credited, entries FROM payments WHERE user_id = %s",
        (user_id,),
    ):
        assert 0 <= credited <= (granted or 0)
        prefix = f"{kind}%:{provider_id}"
        [(count, amount)] = owner(
            "SELECT count(*), coalesce(sum(amount), 0) FROM credit_ledger WHERE user_id = %s"
            " AND (key = %s OR key LIKE %s)",
            (user_id, f"{kind}:{provider_id}", f"{prefix}:%"),
        )
        assert (count, amount) == (entries, credited)
    # A job is refunded at most once, and only a job that was debited.
    assert owner(
        "SELECT count(*) FROM credit_ledger r WHERE r.user_id = %s AND r.kind = 'refund'"
        " AND NOT EXISTS (SELECT 1 FROM credit_ledger d WHERE d.key = 'debit:' || r.job_id)",
        (user_id,),
    ) == [(0,)]
    sum_of_kinds = (
        "SELECT coalesce(sum(amount), 0) FROM credit_ledger WHERE user_id = %s AND kind IN "
    )
    [(payments_net,)] = owner(sum_of_kinds + PAYMENT_KINDS, (user_id,))
    return int(payments_net)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=interleavings, data=st.data())
def test_any_interleaving_of_money_events_keeps_the_ledger_whole(
    send, client, make_user, owner, steps, data
):
    first, second = make_user(), make_user()
    ids = uuid.uuid4().hex[:10]
    queued: list[str] = []
    for step in steps:
        if step == ("job",):
            response = client.post(
                "/api/generations", headers=first.headers, json={"prompt": "p", "model": "tiny-sd"}
            )
            assert response.status_code in (202, 402), response.text
            if response.status_code == 202:
                queued.append(response.json()["id"])
        elif step == ("cancel",):
            if queued:
                # Whatever the balance (negative after a refund), a queued job cancels.
                response = client.delete(f"/api/generations/{queued.pop()}", headers=first.headers)
                assert response.status_code == 200, response.text
        else:
            response = send(event(first.id, f"{ids}a", step))
            assert response.status_code == 200, response.text
    facts = [step for step in steps if len(step) > 1]
    for fact in data.draw(st.permutations(facts), label="second order"):
        assert send(event(second.id, f"{ids}b", fact)).status_code == 200

    model = expected(set(facts))
    assert check_ledger(owner, first.id) == model
    assert check_ledger(owner, second.id) == model
    tiers = owner("SELECT tier FROM users WHERE id IN (%s, %s)", (first.id, second.id))
    assert tiers[0] == tiers[1]
