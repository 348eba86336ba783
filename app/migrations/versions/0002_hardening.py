"""Hardening: one-round-trip job creation, queue recovery, auth state, error codes.

- ``create_job(...)``: the debit, its ledger entry and the job row in one statement, so
  ``POST /api/generations`` costs one database round trip (SECURITY INVOKER: row-level
  security applies; the function scopes itself to the user it debits).
- ``jobs_to_requeue()``: queued and running jobs of every user, for the worker that
  finds the queue's Redis data lost (PostgreSQL is the source of truth). SECURITY
  DEFINER, returning only what a queue message holds.
- ``jobs.error_code``: a stable code next to the user-facing ``error`` message.
- ``auth_sessions_revoked`` and ``refresh_tokens_used``: revocation and single use of
  refresh tokens survive a Redis that lost its data.
- ``subscriptions``: each Lemon Squeezy subscription's own state, changed only by a
  newer event (its ``updated_at``); the user's tier is the best active one.
- A refunded purchase takes its credits back even when they were spent: the balance
  may go negative through a refund entry (and only through one).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects.postgresql import UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CURRENT_USER = "NULLIF(current_setting('app.user_id', true), '')::uuid"
NEW_USER_OWNED = {
    "subscriptions": "SELECT, INSERT, UPDATE",
    "auth_sessions_revoked": "SELECT, INSERT",
    "refresh_tokens_used": "SELECT, INSERT",
}
NOW = sa.text("now()")
# Ledger kinds that take back what a refunded payment granted (app/store/ledger.py).
REFUND_KINDS = "('purchase_refunded', 'subscription_refunded')"
CREATE_JOB_ARGS = (
    "uuid, uuid, text[], integer, text, text, text, integer, integer, integer,"
    " double precision, bigint, integer"
)


def upgrade() -> None:
    schema: str = context.config.attributes["db_schema"]
    app_role: str | None = context.config.attributes.get("db_app_role")
    q = f'"{schema}"'

    op.add_column("jobs", sa.Column("error_code", sa.Text), schema=schema)
    op.drop_constraint("credits_never_negative", "users", schema=schema)
    op.drop_constraint("balance_never_negative", "credit_ledger", schema=schema)
    op.create_check_constraint(
        "balance_never_negative",
        "credit_ledger",
        f"balance_after >= 0 OR kind IN {REFUND_KINDS}",
        schema=schema,
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column(
            "user_id", UUID(as_uuid=True), sa.ForeignKey(f"{schema}.users.id"), nullable=False
        ),
        sa.Column("tier", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("event_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("tier IN ('basic', 'pro')", name="paid_tier"),
        schema=schema,
    )
    op.create_index("subscriptions_user", "subscriptions", ["user_id"], schema=schema)
    op.create_table(
        "auth_sessions_revoked",
        sa.Column("session_id", sa.Text, primary_key=True),
        sa.Column(
            "user_id", UUID(as_uuid=True), sa.ForeignKey(f"{schema}.users.id"), nullable=False
        ),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        schema=schema,
    )
    op.create_table(
        "refresh_tokens_used",
        sa.Column("token_id", sa.Text, primary_key=True),
        sa.Column(
            "user_id", UUID(as_uuid=True), sa.ForeignKey(f"{schema}.users.id"), nullable=False
        ),
        sa.Column("session_id", sa.Text, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        schema=schema,
    )
    for table in NEW_USER_OWNED:
        op.execute(f"ALTER TABLE {q}.{table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {table}_owner ON {q}.{table}"
            f" USING (user_id = {CURRENT_USER}) WITH CHECK (user_id = {CURRENT_USER})"
        )

    # outcome: 'queued' (debited, job recorded), 'credits' (balance short), 'tier' (the
    # request is above the user's tier bounds: p_allowed_tiers lists the tiers whose
    # bounds admit it, computed by the API from its one table of bounds), 'unknown'.
    op.execute(f"""
        CREATE FUNCTION {q}.create_job(
            p_user_id uuid, p_job_id uuid, p_allowed_tiers text[], p_price integer,
            p_model text, p_prompt text, p_negative_prompt text, p_width integer,
            p_height integer, p_steps integer, p_guidance_scale double precision,
            p_seed bigint, p_num_images integer
        ) RETURNS TABLE (outcome text, tier text, balance integer)
        LANGUAGE plpgsql SECURITY INVOKER SET search_path = {q}, pg_temp AS $$
        DECLARE
            v_tier text;
            v_balance integer;
        BEGIN
            PERFORM set_config('app.user_id', p_user_id::text, true);
            UPDATE users SET credits = credits - p_price
                WHERE id = p_user_id AND credits >= p_price AND users.tier = ANY(p_allowed_tiers)
                RETURNING users.credits, users.tier INTO v_balance, v_tier;
            IF NOT FOUND THEN
                SELECT users.credits, users.tier INTO v_balance, v_tier
                    FROM users WHERE id = p_user_id;
                IF NOT FOUND THEN
                    RETURN QUERY SELECT 'unknown'::text, NULL::text, NULL::integer;
                ELSIF NOT v_tier = ANY(p_allowed_tiers) THEN
                    RETURN QUERY SELECT 'tier'::text, v_tier, v_balance;
                ELSE
                    RETURN QUERY SELECT 'credits'::text, v_tier, v_balance;
                END IF;
                RETURN;
            END IF;
            INSERT INTO credit_ledger (user_id, key, kind, amount, balance_after, job_id)
                VALUES (p_user_id, 'debit:' || p_job_id, 'debit', -p_price, v_balance, p_job_id);
            INSERT INTO jobs (id, user_id, status, tier, model, prompt, negative_prompt, width,
                              height, steps, guidance_scale, seed, num_images, cost)
                VALUES (p_job_id, p_user_id, 'queued', v_tier, p_model, p_prompt,
                        p_negative_prompt, p_width, p_height, p_steps, p_guidance_scale, p_seed,
                        p_num_images, p_price);
            RETURN QUERY SELECT 'queued'::text, v_tier, v_balance;
        END $$
    """)  # noqa: S608 - the schema name is validated against ^[a-z_][a-z0-9_]{0,62}$

    # The recovering worker re-enqueues these; it sees every user's jobs only through
    # this function, and only the fields a queue message carries.
    op.execute(f"""
        CREATE FUNCTION {q}.jobs_to_requeue()
        RETURNS TABLE (
            id uuid, user_id uuid, tier text, model text, prompt text, negative_prompt text,
            width integer, height integer, steps integer, guidance_scale double precision,
            seed bigint, num_images integer, cost integer, created_at timestamptz
        )
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {q}, pg_temp AS $$
            SELECT id, user_id, tier, model, prompt, coalesce(negative_prompt, ''), width,
                   height, steps, guidance_scale, seed, num_images, cost, created_at
            FROM jobs WHERE status IN ('queued', 'running') ORDER BY created_at
        $$
    """)  # noqa: S608 - the schema name is validated against ^[a-z_][a-z0-9_]{0,62}$
    op.execute(f"REVOKE ALL ON FUNCTION {q}.jobs_to_requeue() FROM PUBLIC")
    op.execute(f"REVOKE ALL ON FUNCTION {q}.create_job({CREATE_JOB_ARGS}) FROM PUBLIC")

    if app_role:
        role = f'"{app_role}"'
        for table, privileges in NEW_USER_OWNED.items():
            op.execute(f"GRANT {privileges} ON {q}.{table} TO {role}")
        op.execute(f"GRANT EXECUTE ON FUNCTION {q}.create_job({CREATE_JOB_ARGS}) TO {role}")
        op.execute(f"GRANT EXECUTE ON FUNCTION {q}.jobs_to_requeue() TO {role}")


def downgrade() -> None:
    schema: str = context.config.attributes["db_schema"]
    q = f'"{schema}"'
    op.execute(f"DROP FUNCTION IF EXISTS {q}.jobs_to_requeue()")
    op.execute(f"DROP FUNCTION IF EXISTS {q}.create_job({CREATE_JOB_ARGS})")
    op.drop_table("refresh_tokens_used", schema=schema)
    op.drop_table("auth_sessions_revoked", schema=schema)
    op.drop_table("subscriptions", schema=schema)
    op.drop_constraint("balance_never_negative", "credit_ledger", schema=schema)
    op.create_check_constraint(
        "balance_never_negative", "credit_ledger", "balance_after >= 0", schema=schema
    )
    op.create_check_constraint("credits_never_negative", "users", "credits >= 0", schema=schema)
    op.drop_column("jobs", "error_code", schema=schema)
