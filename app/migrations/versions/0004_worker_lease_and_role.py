"""Worker leases on jobs, and a database role of the workers' own.

- ``jobs.lease_owner`` / ``jobs.lease_expires_at``: the worker rendering a job holds a
  lease on its row, renewed with its heartbeat (app.store.jobs). ``jobs_to_requeue()``
  no longer returns a running job whose lease is live, so a recovery after Redis lost
  the queue never hands a job a live worker is rendering to a second one.
- With ``db_worker_role`` (``DB_WORKER_ROLE``): the workers' role gets what a worker
  does and no more (``WORKER_PRIVILEGES``; row-level security applies to it as to the
  API) plus ``jobs_to_requeue()``, a SECURITY DEFINER function that reads every user's
  jobs, prompts included; the API role loses that function. Without one, the API role
  keeps it: the workers then still connect as the API role.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0004"
down_revision = "0003_money"
branch_labels = None
depends_on = None

REQUEUE = """
    CREATE OR REPLACE FUNCTION {q}.jobs_to_requeue()
    RETURNS TABLE (
        id uuid, user_id uuid, tier text, model text, prompt text, negative_prompt text,
        width integer, height integer, steps integer, guidance_scale double precision,
        seed bigint, num_images integer, cost integer, created_at timestamptz
    )
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {q}, pg_temp AS $$
        SELECT id, user_id, tier, model, prompt, coalesce(negative_prompt, ''), width,
               height, steps, guidance_scale, seed, num_images, cost, created_at
        FROM jobs
        WHERE status = 'queued'
           OR (status = 'running' {lease})
        ORDER BY created_at
    $$
"""
# What the worker does: starts, renews, completes and fails jobs, records images, and
# refunds (the balance and its ledger entry).
WORKER_PRIVILEGES = {
    "jobs": "SELECT, UPDATE",
    "images": "SELECT, INSERT",
    "users": "SELECT, UPDATE",
    "credit_ledger": "SELECT, INSERT",
}
LEASE_EXPIRED = "AND (lease_expires_at IS NULL OR lease_expires_at < now())"


def upgrade() -> None:
    schema: str = context.config.attributes["db_schema"]
    app_role: str | None = context.config.attributes.get("db_app_role")
    worker_role: str | None = context.config.attributes.get("db_worker_role")
    q = f'"{schema}"'
    op.add_column("jobs", sa.Column("lease_owner", sa.Text), schema=schema)
    op.add_column("jobs", sa.Column("lease_expires_at", sa.DateTime(timezone=True)), schema=schema)
    # CREATE OR REPLACE keeps the function's grants.
    op.execute(REQUEUE.format(q=q, lease=LEASE_EXPIRED))
    if worker_role:
        worker = f'"{worker_role}"'
        op.execute(f"GRANT USAGE ON SCHEMA {q} TO {worker}")
        for table, privileges in WORKER_PRIVILEGES.items():
            op.execute(f"GRANT {privileges} ON {q}.{table} TO {worker}")
        op.execute(f"GRANT EXECUTE ON FUNCTION {q}.jobs_to_requeue() TO {worker}")
        if app_role:
            op.execute(f'REVOKE EXECUTE ON FUNCTION {q}.jobs_to_requeue() FROM "{app_role}"')


def downgrade() -> None:
    schema: str = context.config.attributes["db_schema"]
    app_role: str | None = context.config.attributes.get("db_app_role")
    worker_role: str | None = context.config.attributes.get("db_worker_role")
    q = f'"{schema}"'
    if worker_role:
        worker = f'"{worker_role}"'
        op.execute(f"REVOKE EXECUTE ON FUNCTION {q}.jobs_to_requeue() FROM {worker}")
        for table in WORKER_PRIVILEGES:
            op.execute(f"REVOKE ALL ON {q}.{table} FROM {worker}")
        op.execute(f"REVOKE USAGE ON SCHEMA {q} FROM {worker}")
    if app_role:
        op.execute(f'GRANT EXECUTE ON FUNCTION {q}.jobs_to_requeue() TO "{app_role}"')
    op.execute(REQUEUE.format(q=q, lease=""))
    op.drop_column("jobs", "lease_expires_at", schema=schema)
    op.drop_column("jobs", "lease_owner", schema=schema)
