"""Payments (Lemon Squeezy orders and subscription invoices) and what the ledger holds
for each, whatever order their events arrive in.

A payment's row (``payments``) keeps what its events made known: the credits it grants
(an order's pack; an invoice's allowance, at the plan in force when it was issued), and
the largest share of it refunded so far. Every event updates the row and then
*settles* it: the ledger receives the difference between what the payment should hold
now and what it holds (``credited``), as the payment's next numbered entry. So

- a refund that arrives before its order is recorded (nothing to take back yet), and
  the order, when it arrives, credits only the unrefunded share;
- a partial refund takes back ``floor(granted * refunded / total)`` credits in all (the
  rounding favours the buyer; a full refund takes everything, never more than granted);
- an invoice is priced from the subscription's plan history, and re-priced if an older
  plan event arrives later;
- the same facts in any order settle to the same ledger total per payment.

Events are applied once each (``payment_events``' unique key, by the webhook); the rows
here are locked with the user's row, so settlements of one user never interleave.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.models import Payment, SubscriptionPlan
from app.store import ledger


@dataclass(frozen=True)
class _Kind:
    grant_key: Callable[[str, int], str]
    take_back_key: Callable[[str, int], str]
    grant_kind: str
    take_back_kind: str


KINDS = {
    "order": _Kind(ledger.order_key, ledger.order_refund_key, "purchase", "purchase_refunded"),
    "invoice": _Kind(
        ledger.invoice_key, ledger.invoice_refund_key, "subscription", "subscription_refunded"
    ),
}


class ForeignPayment(Exception):
    """The payment is recorded for another user (its id collides across users)."""


def payment(session: Session, user_id: uuid.UUID, kind: str, provider_id: str) -> Payment:
    """The payment's row, created empty if new, locked for this transaction."""
    session.execute(
        insert(Payment)
        .values(kind=kind, provider_id=provider_id, user_id=user_id)
        .on_conflict_do_nothing(index_elements=["kind", "provider_id"])
    )
    row = session.execute(
        select(Payment)
        .where(Payment.kind == kind, Payment.provider_id == provider_id)
        .with_for_update()
    ).scalar_one_or_none()
    if row is None:  # it exists, under another user's row-level security
        raise ForeignPayment(f"{kind} {provider_id}")
    return row


def record_refund(row: Payment, total_cents: int | None, refunded_cents: int | None) -> None:
    """Keep the largest refunded share seen. Without a usable total or amount the refund
    is taken as full (Lemon Squeezy sends both; a refund event without them is one)."""
    if total_cents is None or total_cents <= 0 or refunded_cents is None:
        total_cents = refunded_cents = 1
    refunded_cents = max(0, min(refunded_cents, total_cents))
    if refunded_cents * row.total_cents > row.refunded_cents * total_cents:
        row.total_cents, row.refunded_cents = total_cents, refunded_cents


def plan_at(session: Session, subscription_id: str, at: datetime) -> str | None:
    """The subscription's tier as of ``at``: that of its latest event not after ``at``,
    else (an invoice issued before the first event we know) that of its first event."""
    history = session.execute(
        select(SubscriptionPlan.event_at, SubscriptionPlan.tier)
        .where(SubscriptionPlan.subscription_id == subscription_id)
        .order_by(SubscriptionPlan.event_at)
    ).all()
    if not history:
        return None
    before = [row.tier for row in history if row.event_at <= at]
    return before[-1] if before else history[0].tier


def record_plan(
    session: Session, user_id: uuid.UUID, subscription_id: str, event_at: datetime, tier: str
) -> None:
    session.execute(
        insert(SubscriptionPlan)
        .values(subscription_id=subscription_id, event_at=event_at, user_id=user_id, tier=tier)
        .on_conflict_do_nothing(index_elements=["subscription_id", "event_at"])
    )


def invoices_of(session: Session, user_id: uuid.UUID, subscription_id: str) -> list[Payment]:
    """The subscription's paid invoices (locked), to re-price after its history changed."""
    return list(
        session.execute(
            select(Payment)
            .where(
                Payment.user_id == user_id,
                Payment.kind == "invoice",
                Payment.subscription_id == subscription_id,
                Payment.issued_at.is_not(None),
            )
            .order_by(Payment.provider_id)
            .with_for_update()
        ).scalars()
    )


def settle(session: Session, row: Payment, allowance: Callable[[str], int]) -> int:
    """Bring the ledger to what the payment holds now; returns the credits moved.
    ``allowance``: a plan's credits per invoice."""
    if row.kind == "invoice" and row.subscription_id is not None and row.issued_at is not None:
        tier = plan_at(session, row.subscription_id, row.issued_at)
        row.granted = None if tier is None else allowance(tier)
    granted = row.granted or 0
    target = granted - granted * row.refunded_cents // row.total_cents
    delta = target - row.credited
    if delta:
        kind = KINDS[row.kind]
        key = kind.grant_key if delta > 0 else kind.take_back_key
        name = kind.grant_kind if delta > 0 else kind.take_back_kind
        ledger.apply(session, row.user_id, delta, key(row.provider_id, row.entries), name)
        row.credited = target
        row.entries += 1
    session.flush()
    return delta
