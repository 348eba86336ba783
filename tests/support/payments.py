"""Lemon Squeezy webhook events as the payment tests send them."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.app import VARIANTS


def order(
    user_id: uuid.UUID, variant: str, order_id: str | None = None, status: str = "paid"
) -> dict[str, Any]:
    return {
        "meta": {"event_name": "order_created", "custom_data": {"user_id": str(user_id)}},
        "data": {
            "type": "orders",
            "id": order_id or str(uuid.uuid4().int % 10**9),
            "attributes": {
                "status": status,
                "total": 999,
                "first_order_item": {"variant_id": int(VARIANTS[variant])},
            },
        },
    }


def subscription(
    user_id: uuid.UUID, event: str, variant: str, status: str, sub_id: str, updated_at: str
) -> dict[str, Any]:
    return {
        "meta": {"event_name": event, "custom_data": {"user_id": str(user_id)}},
        "data": {
            "type": "subscriptions",
            "id": sub_id,
            "attributes": {
                "status": status,
                "variant_id": int(VARIANTS[variant]),
                "updated_at": updated_at,
            },
        },
    }


def invoice(
    user_id: uuid.UUID, sub_id: str, invoice_id: str, created_at: str = "2026-01-15T00:00:00Z"
) -> dict[str, Any]:
    return {
        "meta": {
            "event_name": "subscription_payment_success",
            "custom_data": {"user_id": str(user_id)},
        },
        "data": {
            "type": "subscription-invoices",
            "id": invoice_id,
            "attributes": {
                "subscription_id": int(sub_id),
                "status": "paid",
                "billing_reason": "initial",
                "created_at": created_at,
            },
        },
    }
