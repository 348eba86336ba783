"""The credit ledger. ``users.credits`` is the balance; ``credit_ledger`` records every
change once, under a unique key (``debit:<job>``, ``refund:<job>``, ``order:<id>``,
``invoice:<id>``, ``signup:<user>``), with the balance after it.

The balance never goes negative through a debit: the conditional UPDATE refuses, and
the ledger's CHECK constraint backs it up. Only a refund of a payment
(:data:`PAYMENT_REFUND_KINDS`) takes back what it granted even when it was spent; the
balance is then negative and new jobs are refused until it is positive again.

A key seen before raises :class:`AlreadyRecorded`, and the caller's transaction rolls
back, so a replay changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

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
    covered = true() if kind in PAYMENT_REFUND_KINDS else User.credits + amount >= 0
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


def granted(session: Session, key: str) -> int | None:
    """Credits the entry ``key`` added (an order's or an invoice's), if it exists."""
    return session.execute(
        select(CreditEntry.amount).where(CreditEntry.key == key)
    ).scalar_one_or_none()
