"""The credit ledger. ``users.credits`` is the balance; ``credit_ledger`` records every
change once, under a unique key, with the balance after it.

Each kind of entry has one key function below, the only spelling of its key in the app:
a key that changed spelling would let a replay (a webhook delivered again, a second
refund of a job) through. Two keys are written by SQL functions that migrations define:
``debit:<job>`` (``create_job``, migration 0002) and ``signup:<user>`` (``ensure_user``,
migration 0001).

The balance never goes negative through a debit: the conditional UPDATE refuses, and
the ledger's CHECK constraint backs it up. Only a refund of a payment
(:data:`PAYMENT_REFUND_KINDS`) takes back what it granted even when it was spent; the
balance is then negative and new jobs are refused until it is positive again. An entry
that adds credits (a job's refund) is never refused, whatever the balance: a negative
balance must not keep a job from failing or a queued job from being canceled.

A key seen before raises :class:`AlreadyRecorded`, and the caller's transaction rolls
back, so a replay changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select, text, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.core.database import Database
from app.models import CreditEntry, User


@dataclass(frozen=True)
class Account:
    """The user's balance after an entry, and their tier (read in the same statement)."""

    balance: int
    tier: str


class InsufficientCredits(Exception):
    def __init__(self, account: Account, needed: int) -> None:
        super().__init__(f"{needed} credits needed, {account.balance} available")
        self.account = account
        self.needed = needed


class UnknownAccount(LookupError):
    """No such user (or not visible under the transaction's ``app.user_id``)."""


class AlreadyRecorded(Exception):
    """The ledger already holds an entry with this key."""


PAYMENT_REFUND_KINDS = frozenset({"purchase_refunded", "subscription_refunded"})


def refund_key(job_id: uuid.UUID) -> str:
    """A failed or canceled job's refund: at most one per job, whoever refunds it."""
    return f"refund:{job_id}"


# A payment (order or invoice) is settled by numbered entries: entry 0 is its grant, the
# later ones take back (refunds) or adjust it; each number is used once per payment
# (``payments.entries``, app/store/payments.py). Entry 0 keeps the unnumbered spelling.


def _numbered(key: str, entry: int) -> str:
    return f"{key}:{entry}" if entry else key


def order_key(order_id: str, entry: int = 0) -> str:
    """Credits a one-off purchase (a Lemon Squeezy order) added."""
    return _numbered(f"order:{order_id}", entry)


def order_refund_key(order_id: str, entry: int) -> str:
    """Credits taken back from an order (a full or partial refund)."""
    return _numbered(f"order-refund:{order_id}", entry)


def invoice_key(invoice_id: str, entry: int = 0) -> str:
    """A subscription's allowance for one paid invoice (or a later correction of it)."""
    return _numbered(f"invoice:{invoice_id}", entry)


def invoice_refund_key(invoice_id: str, entry: int) -> str:
    """Credits taken back from an invoice (a refund, or its plan turning out smaller)."""
    return _numbered(f"invoice-refund:{invoice_id}", entry)


def ensure_user(db: Database, email: str, signup_credits: int) -> uuid.UUID:
    """Find or create the user for a verified e-mail address; a new one gets
    ``signup_credits`` through the ledger (RLS-exempt definer function, migration 0001)."""
    with db.transaction(None) as session:
        user_id: uuid.UUID = session.execute(
            text("SELECT ensure_user(:email, :credits)"),
            {"email": email.lower(), "credits": signup_credits},
        ).scalar_one()
    return user_id


def apply(
    session: Session,
    user_id: uuid.UUID,
    amount: int,
    key: str,
    kind: str,
    job_id: uuid.UUID | None = None,
) -> Account:
    """Add ``amount`` (negative for a debit) to the balance, recording it once under ``key``.

    Must run inside a transaction with ``app.user_id`` set.
    """
    if amount == 0:
        raise ValueError("a ledger entry moves at least one credit")
    # Only a debit must be covered; a payment's take-back may leave the balance negative.
    covered = true() if amount > 0 or kind in PAYMENT_REFUND_KINDS else User.credits + amount >= 0
    row = session.execute(
        update(User)
        .where(User.id == user_id, covered)
        .values(credits=User.credits + amount)
        .returning(User.credits, User.tier)
        # No ORM objects to keep in step: skip the session synchronisation work.
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if row is None:
        current = session.execute(
            select(User.credits, User.tier).where(User.id == user_id)
        ).one_or_none()
        if current is None:
            raise UnknownAccount(str(user_id))
        raise InsufficientCredits(Account(current.credits, current.tier), -amount)
    account = Account(row.credits, row.tier)
    recorded = session.execute(
        insert(CreditEntry)
        .values(
            user_id=user_id,
            key=key,
            kind=kind,
            amount=amount,
            balance_after=account.balance,
            job_id=job_id,
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(CreditEntry.id)
    ).scalar_one_or_none()
    if recorded is None:
        raise AlreadyRecorded(key)
    return account
