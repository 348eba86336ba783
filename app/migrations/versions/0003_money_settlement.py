"""Money that always adds up: payments settled from their state, refunds in any order.

- ``credit_ledger``'s CHECK: only a *debit* needs the balance to cover it. An entry that
  adds credits (a job's refund) is always allowed, so a balance made negative by a
  refunded payment never blocks refunds, cancels or a job's completion.
- ``payments``: one row per order or subscription invoice, holding what is known of it
  (the credits it grants, the share of it refunded, what the ledger holds for it now).
  A refund that arrives before its order is recorded here and the order, when it comes,
  nets to the refunded state; partial refunds take back a share of the pack.
- ``subscription_plans``: each subscription's plan as of each event (``updated_at``),
  so an invoice is credited at the plan in force when it was issued, not the current one.

Rows of payments credited before this revision are backfilled from the ledger, with a
fixed grant (their plan history is not known).

Revision ID: 0003_money
Revises: 0002
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects.postgresql import UUID

revision = "0003_money"
down_revision = "0002"
branch_labels = None
depends_on = None

CURRENT_USER = "NULLIF(current_setting('app.user_id', true), '')::uuid"
NEW_USER_OWNED = {"payments": "SELECT, INSERT, UPDATE", "subscription_plans": "SELECT, INSERT"}
REFUND_KINDS = "('purchase_refunded', 'subscription_refunded')"


def upgrade() -> None:
    schema: str = context.config.attributes["db_schema"]
    app_role: str | None = context.config.attributes.get("db_app_role")
    q = f'"{schema}"'

    op.drop_constraint("balance_never_negative", "credit_ledger", schema=schema)
    op.create_check_constraint(
        "balance_never_negative",
        "credit_ledger",
        f"balance_after >= 0 OR amount > 0 OR kind IN {REFUND_KINDS}",
        schema=schema,
    )
    op.create_table(
        "payments",
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("provider_id", sa.Text, primary_key=True),
        sa.Column(
            "user_id", UUID(as_uuid=True), sa.ForeignKey(f"{schema}.users.id"), nullable=False
        ),
        # Invoices: the subscription whose plan history prices them (NULL: fixed grant).
        sa.Column("subscription_id", sa.Text),
        sa.Column("issued_at", sa.DateTime(timezone=True)),
        # Credits the payment grants unrefunded; NULL until its order/invoice is known.
        sa.Column("granted", sa.Integer),
        # The largest refunded share seen: refunded_cents / total_cents (0/1: none).
        sa.Column("total_cents", sa.BigInteger, nullable=False, server_default="1"),
        sa.Column("refunded_cents", sa.BigInteger, nullable=False, server_default="0"),
        # What the ledger holds for this payment now, and how many entries it took.
        sa.Column("credited", sa.Integer, nullable=False, server_default="0"),
        sa.Column("entries", sa.Integer, nullable=False, server_default="0"),
        sa.CheckConstraint("kind IN ('order', 'invoice')", name="payment_kind"),
        sa.CheckConstraint(
            "total_cents > 0 AND refunded_cents BETWEEN 0 AND total_cents", name="refund_share"
        ),
        sa.CheckConstraint("credited >= 0", name="credited_never_negative"),
        schema=schema,
    )
    op.create_index(
        "payments_subscription", "payments", ["user_id", "subscription_id"], schema=schema
    )
    op.create_table(
        "subscription_plans",
        sa.Column("subscription_id", sa.Text, primary_key=True),
        sa.Column("event_at", sa.DateTime(timezone=True), primary_key=True),
        sa.Column(
            "user_id", UUID(as_uuid=True), sa.ForeignKey(f"{schema}.users.id"), nullable=False
        ),
        sa.Column("tier", sa.Text, nullable=False),
        sa.CheckConstraint("tier IN ('basic', 'pro')", name="plan_tier"),
        schema=schema,
    )
    for table in NEW_USER_OWNED:
        op.execute(f"ALTER TABLE {q}.{table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {table}_owner ON {q}.{table}"
            f" USING (user_id = {CURRENT_USER}) WITH CHECK (user_id = {CURRENT_USER})"
        )

    # Payments credited before this revision: the grant as the ledger recorded it, fully
    # refunded (share 1/1) when a take-back exists.
    op.execute(f"""
        INSERT INTO {q}.payments (kind, provider_id, user_id, granted, total_cents,
                                  refunded_cents, credited, entries)
        SELECT p.kind, p.provider_id, g.user_id, g.amount, 1,
               CASE WHEN r.amount IS NULL THEN 0 ELSE 1 END,
               g.amount + coalesce(r.amount, 0), CASE WHEN r.amount IS NULL THEN 1 ELSE 2 END
        FROM {q}.credit_ledger g
        CROSS JOIN LATERAL (SELECT split_part(g.key, ':', 1) AS kind,
                                   substr(g.key, strpos(g.key, ':') + 1) AS provider_id) p
        LEFT JOIN {q}.credit_ledger r ON r.key = p.kind || '-refund:' || p.provider_id
        WHERE g.kind IN ('purchase', 'subscription')
    """)  # noqa: S608 - the schema name is validated against ^[a-z_][a-z0-9_]{0,62}$
    op.execute(f"""
        INSERT INTO {q}.subscription_plans (subscription_id, event_at, user_id, tier)
        SELECT id, event_at, user_id, tier FROM {q}.subscriptions
    """)  # noqa: S608 - the schema name is validated against ^[a-z_][a-z0-9_]{0,62}$

    if app_role:
        role = f'"{app_role}"'
        for table, privileges in NEW_USER_OWNED.items():
            op.execute(f"GRANT {privileges} ON {q}.{table} TO {role}")


def downgrade() -> None:
    schema: str = context.config.attributes["db_schema"]
    op.drop_table("subscription_plans", schema=schema)
    op.drop_table("payments", schema=schema)
    op.drop_constraint("balance_never_negative", "credit_ledger", schema=schema)
    op.create_check_constraint(
        "balance_never_negative",
        "credit_ledger",
        f"balance_after >= 0 OR kind IN {REFUND_KINDS}",
        schema=schema,
    )
