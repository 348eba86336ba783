"""Initial schema: users, credit ledger, jobs, images, payment events, with RLS.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

CURRENT_USER = "NULLIF(current_setting('app.user_id', true), '')::uuid"
# table -> (column naming the owner, privileges the application role gets)
USER_OWNED = {
    "users": ("id", "SELECT, UPDATE"),
    # Append-only: no UPDATE or DELETE for the application.
    "credit_ledger": ("user_id", "SELECT, INSERT"),
    "jobs": ("user_id", "SELECT, INSERT, UPDATE"),
    "images": ("user_id", "SELECT, INSERT, DELETE"),
    "payment_events": ("user_id", "SELECT, INSERT"),
}


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    schema: str = context.config.attributes["db_schema"]
    app_role: str | None = context.config.attributes.get("db_app_role")
    q = f'"{schema}"'

    op.create_table(
        "users",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("email", sa.Text, nullable=False, unique=True),
        sa.Column("tier", sa.Text, nullable=False, server_default="free"),
        sa.Column("credits", sa.Integer, nullable=False, server_default="0"),
        sa.Column("subscription_id", sa.Text),
        sa.Column("subscription_status", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
        sa.CheckConstraint("credits >= 0", name="credits_never_negative"),
        sa.CheckConstraint("tier IN ('free', 'basic', 'pro')", name="known_tier"),
        sa.CheckConstraint("email = lower(email)", name="email_lower_case"),
        schema=schema,
    )
    op.create_table(
        "credit_ledger",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "user_id", UUID(as_uuid=True), sa.ForeignKey(f"{schema}.users.id"), nullable=False
        ),
        sa.Column("key", sa.Text, nullable=False, unique=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("balance_after", sa.Integer, nullable=False),
        sa.Column("job_id", UUID(as_uuid=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
        sa.CheckConstraint("amount <> 0", name="amount_not_zero"),
        sa.CheckConstraint("balance_after >= 0", name="balance_never_negative"),
        schema=schema,
    )
    op.create_index("credit_ledger_user_created", "credit_ledger", ["user_id", "id"], schema=schema)
    op.create_table(
        "jobs",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "user_id", UUID(as_uuid=True), sa.ForeignKey(f"{schema}.users.id"), nullable=False
        ),
        sa.Column("status", sa.Text, nullable=False, server_default="queued"),
        sa.Column("tier", sa.Text, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("prompt", sa.Text, nullable=False),
        sa.Column("negative_prompt", sa.Text),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("steps", sa.Integer, nullable=False),
        sa.Column("guidance_scale", sa.Float, nullable=False),
        sa.Column("seed", sa.BigInteger, nullable=False),
        sa.Column("num_images", sa.Integer, nullable=False),
        sa.Column("cost", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'canceled')",
            name="known_status",
        ),
        sa.CheckConstraint("cost > 0", name="cost_positive"),
        schema=schema,
    )
    op.create_index("jobs_user_created", "jobs", ["user_id", "created_at"], schema=schema)
    op.create_table(
        "images",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "user_id", UUID(as_uuid=True), sa.ForeignKey(f"{schema}.users.id"), nullable=False
        ),
        sa.Column("job_id", UUID(as_uuid=True), sa.ForeignKey(f"{schema}.jobs.id"), nullable=False),
        sa.Column("s3_key", sa.Text, nullable=False, unique=True),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
        schema=schema,
    )
    op.create_index("images_user_created", "images", ["user_id", "created_at"], schema=schema)
    op.create_index("images_job", "images", ["job_id"], schema=schema)
    op.create_table(
        "payment_events",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "user_id", UUID(as_uuid=True), sa.ForeignKey(f"{schema}.users.id"), nullable=False
        ),
        sa.Column("key", sa.Text, nullable=False, unique=True),
        sa.Column("event_name", sa.Text, nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
        schema=schema,
    )

    # Job status only moves forward, whoever writes the row (API or worker).
    op.execute(f"""
        CREATE FUNCTION {q}.jobs_status_forward_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
                (OLD.status = 'queued' AND NEW.status IN ('running', 'failed', 'canceled'))
                OR (OLD.status = 'running' AND NEW.status IN ('succeeded', 'failed', 'canceled'))
            ) THEN
                RAISE EXCEPTION 'job % cannot move from % to %', OLD.id, OLD.status, NEW.status
                    USING ERRCODE = 'check_violation';
            END IF;
            NEW.updated_at := now();
            RETURN NEW;
        END $$
    """)
    op.execute(f"""
        CREATE TRIGGER jobs_status_forward_only BEFORE UPDATE ON {q}.jobs
        FOR EACH ROW EXECUTE FUNCTION {q}.jobs_status_forward_only()
    """)

    # Sign-in happens before the API knows the user id, so RLS would hide the row it
    # looks for: this definer function finds or creates the user (with the sign-up grant
    # recorded in the ledger) and returns only the id.
    op.execute(f"""
        CREATE FUNCTION {q}.ensure_user(p_email text, p_signup_credits integer)
        RETURNS uuid LANGUAGE plpgsql SECURITY DEFINER SET search_path = {q}, pg_temp AS $$
        DECLARE
            v_id uuid;
        BEGIN
            SELECT id INTO v_id FROM users WHERE email = lower(p_email);
            IF FOUND THEN
                RETURN v_id;
            END IF;
            v_id := gen_random_uuid();
            INSERT INTO users (id, email, credits) VALUES (v_id, lower(p_email), p_signup_credits)
                ON CONFLICT (email) DO NOTHING;
            IF NOT FOUND THEN
                SELECT id INTO v_id FROM users WHERE email = lower(p_email);
                RETURN v_id;
            END IF;
            IF p_signup_credits > 0 THEN
                INSERT INTO credit_ledger (user_id, key, kind, amount, balance_after)
                    VALUES (v_id, 'signup:' || v_id, 'signup', p_signup_credits, p_signup_credits);
            END IF;
            RETURN v_id;
        END $$
    """)  # noqa: S608 - the schema name is validated against ^[a-z_][a-z0-9_]{0,62}$
    op.execute(f"REVOKE ALL ON FUNCTION {q}.ensure_user(text, integer) FROM PUBLIC")

    for table, (owner_column, _) in USER_OWNED.items():
        op.execute(f"ALTER TABLE {q}.{table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {table}_owner ON {q}.{table}"
            f" USING ({owner_column} = {CURRENT_USER})"
            f" WITH CHECK ({owner_column} = {CURRENT_USER})"
        )

    if app_role:
        role = f'"{app_role}"'
        op.execute(f"GRANT USAGE ON SCHEMA {q} TO {role}")
        for table, (_, privileges) in USER_OWNED.items():
            op.execute(f"GRANT {privileges} ON {q}.{table} TO {role}")
        op.execute(f"GRANT EXECUTE ON FUNCTION {q}.ensure_user(text, integer) TO {role}")


def downgrade() -> None:
    schema: str = context.config.attributes["db_schema"]
    q = f'"{schema}"'
    op.execute(f"DROP FUNCTION IF EXISTS {q}.ensure_user(text, integer)")
    for table in ("payment_events", "images", "jobs", "credit_ledger", "users"):
        op.drop_table(table, schema=schema)
    op.execute(f"DROP FUNCTION IF EXISTS {q}.jobs_status_forward_only()")
