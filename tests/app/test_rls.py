"""Row-level security, checked with plain SQL as the application role."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import sql

REQUEST = {"prompt": "rls", "model": "tiny-sd"}


def as_user(conn: psycopg.Connection, user_id: uuid.UUID | None) -> None:
    if user_id is not None:
        conn.execute("SELECT set_config('app.user_id', %s, true)", (str(user_id),))


@pytest.fixture
def two_users_with_jobs(client, make_user, owner):
    alice, bob = make_user(), make_user()
    for person, count in ((alice, 2), (bob, 3)):
        for _ in range(count):
            job_id = client.post("/api/generations", headers=person.headers, json=REQUEST).json()[
                "id"
            ]
            owner(
                "INSERT INTO images (id, user_id, job_id, s3_key, width, height)"
                " VALUES (%s, %s, %s, %s, 512, 512)",
                (
                    uuid.uuid4(),
                    person.id,
                    job_id,
                    f"images/{uuid.uuid4()}.png",
                ),
            )
        owner(
            "INSERT INTO payment_events (user_id, key, event_name, payload)"
            " VALUES (%s, %s, 'order_created', '{}')",
            (person.id, f"order_created:{uuid.uuid4()}"),
        )
    return alice, bob


def test_the_application_role_cannot_bypass_rls(as_app_role, database):
    with as_app_role() as conn:
        superuser, bypass = conn.execute(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        owners = conn.execute(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = %s", (database.schema,)
        ).fetchall()
        forced = conn.execute(
            "SELECT relname FROM pg_class JOIN pg_namespace n ON n.oid = relnamespace"
            " WHERE nspname = %s AND relkind = 'r' AND relrowsecurity",
            (database.schema,),
        ).fetchall()
    assert (superuser, bypass) == (False, False)
    assert owners == [("pingvas_owner",)]
    assert {name for (name,) in forced} == {
        "users",
        "credit_ledger",
        "jobs",
        "images",
        "payment_events",
        "auth_sessions_revoked",
        "refresh_tokens_used",
        "subscriptions",
        "payments",
        "subscription_plans",
    }


@pytest.mark.parametrize("table", ["jobs", "images", "credit_ledger", "payment_events"])
def test_a_query_without_where_user_id_sees_only_the_callers_rows(
    two_users_with_jobs, as_app_role, owner, table
):
    alice, bob = two_users_with_jobs
    with as_app_role() as conn:
        as_user(conn, alice.id)
        # No WHERE user_id on purpose.
        query = sql.SQL("SELECT DISTINCT user_id FROM {}").format(sql.Identifier(table))
        seen = conn.execute(query).fetchall()
    bobs = owner(
        sql.SQL("SELECT count(*) FROM {} WHERE user_id = %s").format(sql.Identifier(table)),
        (bob.id,),
    )
    assert seen == [(alice.id,)]
    assert bobs[0][0] >= 1  # Bob's rows are there; RLS hides them from Alice


def test_users_table_shows_only_the_caller_and_counts_match(two_users_with_jobs, as_app_role):
    _, bob = two_users_with_jobs
    with as_app_role() as conn:
        as_user(conn, bob.id)
        users = conn.execute("SELECT id FROM users").fetchall()
        jobs = conn.execute("SELECT count(*) FROM jobs").fetchone()
        images = conn.execute("SELECT count(*) FROM images").fetchone()
    assert users == [(bob.id,)]
    assert jobs == (3,)
    assert images == (3,)


def test_without_the_setting_nothing_is_visible(two_users_with_jobs, as_app_role):
    with as_app_role() as conn:
        for table in ("users", "jobs", "images", "credit_ledger", "payment_events"):
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            assert conn.execute(query).fetchone() == (0,)


def test_the_setting_is_transaction_local(two_users_with_jobs, as_app_role):
    alice, _ = two_users_with_jobs
    with as_app_role() as conn:
        as_user(conn, alice.id)
        assert conn.execute("SELECT count(*) FROM jobs").fetchone() == (2,)
        conn.commit()
        assert conn.execute("SELECT count(*) FROM jobs").fetchone() == (0,)


def test_writes_for_another_user_are_refused(two_users_with_jobs, as_app_role):
    alice, bob = two_users_with_jobs
    with as_app_role() as conn:
        as_user(conn, alice.id)
        assert (
            conn.execute("UPDATE jobs SET error = 'x' WHERE user_id = %s", (bob.id,)).rowcount == 0
        )
        assert conn.execute("DELETE FROM images WHERE user_id = %s", (bob.id,)).rowcount == 0
        assert (
            conn.execute("UPDATE users SET credits = 1000000 WHERE id = %s", (bob.id,)).rowcount
            == 0
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute(
                "INSERT INTO credit_ledger (user_id, key, kind, amount, balance_after)"
                " VALUES (%s, %s, 'grant', 5, 5)",
                (bob.id, f"evil:{uuid.uuid4()}"),
            )


def test_the_ledger_is_append_only_for_the_application(two_users_with_jobs, as_app_role):
    alice, _ = two_users_with_jobs
    with as_app_role() as conn:
        as_user(conn, alice.id)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE credit_ledger SET amount = 1000")
    with as_app_role() as conn:
        as_user(conn, alice.id)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM credit_ledger")
