"""The credit ledger: never negative, every key recorded once, balance == sum(ledger)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.database import Database
from app.store import ledger
from tests.support.app import balance_and_ledger


@pytest.fixture(scope="module")
def db(database) -> Iterator[Database]:
    app_db = Database(database.app_url, database.schema)
    yield app_db
    app_db.dispose()


def test_a_debit_larger_than_the_balance_is_refused(db, user, owner):
    with pytest.raises(ledger.InsufficientCredits) as refused, db.transaction(user.id) as session:
        ledger.apply(session, user.id, -51, f"debit:{uuid.uuid4()}", "debit")
    assert (refused.value.account.balance, refused.value.needed) == (50, 51)
    assert refused.value.account.tier == "free"
    assert balance_and_ledger(owner, user.id) == (50, 50, 1)


def test_the_same_key_is_recorded_once(db, user, owner):
    key = f"refund:{uuid.uuid4()}"
    with db.transaction(user.id) as session:
        assert ledger.apply(session, user.id, 5, key, "refund").balance == 55
    with pytest.raises(ledger.AlreadyRecorded), db.transaction(user.id) as session:
        ledger.apply(session, user.id, 5, key, "refund")
    assert balance_and_ledger(owner, user.id) == (55, 55, 2)


def test_the_database_refuses_a_negative_balance_even_without_the_api(owner, user):
    """Only taking back a refunded payment may leave the balance below zero."""
    import psycopg

    entry = (
        "INSERT INTO credit_ledger (user_id, key, kind, amount, balance_after)"
        " VALUES (%s, %s, %s, -60, -10)"
    )
    with pytest.raises(psycopg.errors.CheckViolation):
        owner(entry, (user.id, f"debit:{uuid.uuid4()}", "debit"))
    owner(entry, (user.id, f"order-refund:{uuid.uuid4()}", "purchase_refunded"))


def test_a_debit_never_takes_the_balance_below_zero(db, user, owner):
    with pytest.raises(ledger.InsufficientCredits), db.transaction(user.id) as session:
        ledger.apply(session, user.id, -51, f"debit:{uuid.uuid4()}", "debit")
    assert balance_and_ledger(owner, user.id) == (50, 50, 1)


# Each operation: (amount, key index). Key indexes collide on purpose to exercise replays.
operations = st.lists(
    st.tuples(st.integers(min_value=-40, max_value=40).filter(bool), st.integers(0, 15)),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
def test_any_sequence_keeps_the_invariants(db, make_user, owner, ops):
    user = make_user()
    prefix = uuid.uuid4().hex
    model_balance, model_keys = 50, set()
    for amount, key_index in ops:
        key = f"prop:{prefix}:{key_index}"
        try:
            with db.transaction(user.id) as session:
                balance = ledger.apply(
                    session, user.id, amount, key, "debit" if amount < 0 else "refund"
                ).balance
        except ledger.InsufficientCredits:
            assert model_balance + amount < 0
            continue
        except ledger.AlreadyRecorded:
            assert key in model_keys
            continue
        assert key not in model_keys
        assert model_balance + amount >= 0
        model_keys.add(key)
        model_balance += amount
        assert balance == model_balance
    balance, total, rows = balance_and_ledger(owner, user.id)
    assert balance == total == model_balance >= 0
    assert rows == 1 + len(model_keys)
    assert (
        owner("SELECT min(balance_after) FROM credit_ledger WHERE user_id = %s", (user.id,))[0][0]
        >= 0
    )
