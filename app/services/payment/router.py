"""Payment service (Lemon Squeezy): checkout links, the signed webhook, the ledger."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

import httpx2
from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.api.context import AppContext
from app.api.deps import AuthFirstRoute, ContextDep, CurrentUser, rate_limit
from app.api.schemas import Limit, Offset, Page, errors, invalid
from app.core.security import hmac_sha256_hex_matches
from app.models import CreditEntry, PaymentEvent, Subscription, User
from app.services.payment.products import PAID_STATUSES, PRODUCTS, by_variant
from app.store import payments

logger = logging.getLogger(__name__)
router = APIRouter(
    prefix="/api/payments",
    tags=["payments"],
    route_class=AuthFirstRoute,
    responses=errors(503),
)
MAX_WEBHOOK_BYTES = 256 * 1024
RLS_VIOLATION = "42501"  # insufficient_privilege: a row-level security policy refused
TIER_RANK = {"basic": 1, "pro": 2}
# Refund event -> the kind of payment it refunds (app/store/payments.py).
REFUNDS = {"order_refunded": "order", "subscription_payment_refunded": "invoice"}
# Deeper JSON than any Lemon Squeezy event: refused before it reaches the parsers' limits.
MAX_WEBHOOK_DEPTH = 32


class CheckoutRequest(BaseModel):
    variant: str = Field(min_length=1, max_length=64, description=f"one of {sorted(PRODUCTS)}")


class CheckoutOut(BaseModel):
    url: str


class LedgerEntryOut(BaseModel):
    id: int
    kind: str
    amount: int
    balance_after: int
    key: str
    job_id: uuid.UUID | None
    created_at: datetime


class WebhookOut(BaseModel):
    status: Literal["processed", "pending", "duplicate", "ignored"] = Field(
        description="pending: recorded, credited once its subscription is known"
    )
    credited: int = Field(default=0, description="credits added (negative: taken back)")


class _CustomData(BaseModel):
    user_id: uuid.UUID


class _Meta(BaseModel):
    event_name: str = Field(min_length=1, max_length=100)
    custom_data: _CustomData
    test_mode: bool = False


class _Data(BaseModel):
    model_config = ConfigDict(coerce_numbers_to_str=True)

    id: str = Field(min_length=1, max_length=100)
    type: str
    attributes: dict[str, Any]


class WebhookEvent(BaseModel):
    meta: _Meta
    data: _Data


PAYMENTS_OFF = "payments are not configured in this environment"


@router.post(
    "/checkout",
    response_model=CheckoutOut,
    responses=errors(401, 403, 404, 429, 502),
    dependencies=[Depends(rate_limit)],
)
def checkout(body: CheckoutRequest, principal: CurrentUser, context: ContextDep) -> CheckoutOut:
    """A Lemon Squeezy checkout URL carrying our user id (it comes back in webhooks)."""
    settings = context.settings
    if settings.lemonsqueezy_api_key is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=PAYMENTS_OFF)
    variant_id = settings.lemonsqueezy_variants.get(body.variant)
    if body.variant not in PRODUCTS or variant_id is None:
        available = sorted(name for name in PRODUCTS if name in settings.lemonsqueezy_variants)
        raise invalid(
            (("body", "variant"), f"unknown variant {body.variant!r}; available: {available}")
        )
    with context.db.transaction(principal.user_id) as session:
        email = session.execute(
            select(User.email).where(User.id == principal.user_id)
        ).scalar_one_or_none()
    if email is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="user not found")
    payload = {
        "data": {
            "type": "checkouts",
            "attributes": {
                "checkout_data": {"email": email, "custom": {"user_id": str(principal.user_id)}}
            },
            "relationships": {
                "store": {"data": {"type": "stores", "id": settings.lemonsqueezy_store_id}},
                "variant": {"data": {"type": "variants", "id": variant_id}},
            },
        }
    }
    try:
        response = httpx2.post(
            f"{settings.lemonsqueezy_api_url.rstrip('/')}/v1/checkouts",
            json=payload,
            headers={
                "Accept": "application/vnd.api+json",
                "Content-Type": "application/vnd.api+json",
                "Authorization": f"Bearer {settings.lemonsqueezy_api_key.get_secret_value()}",
            },
            timeout=10,
        )
        response.raise_for_status()
        url = response.json()["data"]["attributes"]["url"]
    except (httpx2.HTTPError, KeyError, TypeError, ValueError) as error:
        logger.warning("Lemon Squeezy checkout failed: %s", error)
        raise HTTPException(
            status.HTTP_502_BAD_GATEWAY, detail="the payment provider did not create a checkout"
        ) from error
    return CheckoutOut(url=str(url))


@router.post(
    "/webhook",
    response_model=WebhookOut,
    # No rate limit: Lemon Squeezy delivers in bursts from a few addresses, and every
    # request is authenticated by its signature (the WAF still limits each address).
    responses=errors(401, 413, 503),
    # Counted as it streams in (chunked bodies too), refused past the cap.
    max_body_size=MAX_WEBHOOK_BYTES,
)
async def webhook(request: Request, context: ContextDep) -> WebhookOut:
    """Verify ``X-Signature`` (hex HMAC-SHA256 of the raw body), then apply the event once."""
    body = await request.body()
    signature = request.headers.get("X-Signature", "")
    if context.settings.lemonsqueezy_webhook_secret is None:
        # Nothing to verify a signature with: refuse, and Lemon Squeezy retries later.
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=PAYMENTS_OFF)
    secret = context.settings.lemonsqueezy_webhook_secret.get_secret_value()
    if not signature or not hmac_sha256_hex_matches(secret, body, signature):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="invalid signature")
    try:
        if _depth(body) > MAX_WEBHOOK_DEPTH:
            raise ValueError("nested too deeply")
        payload = json.loads(body)
        # PostgreSQL's JSONB holds no lone surrogate (UnicodeEncodeError is a ValueError).
        json.dumps(payload, ensure_ascii=False).encode()
        event = WebhookEvent.model_validate(payload)
    except (ValueError, ValidationError) as error:
        raise invalid(
            (("body",), "not a Lemon Squeezy event with meta.custom_data.user_id")
        ) from error
    # The database work is synchronous: keep it off the event loop.
    return await run_in_threadpool(_apply_event, context, event, payload)


def _depth(body: bytes) -> int:
    """How deeply arrays and objects nest in a JSON text (brackets inside strings skipped),
    without parsing it: the parsers recurse and would fail on a deep body with a
    RecursionError, not a ValueError."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # closing quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth -= 1
    return deepest


def _event_key(event: WebhookEvent) -> str:
    name, data = event.meta.event_name, event.data
    if name in REFUNDS:
        # Each further partial refund names a larger refunded amount: a new event.
        return f"{name}:{data.id}:{data.attributes.get('refunded_amount', '')}"
    if name.startswith("subscription_") and name != "subscription_payment_success":
        # The same subscription sends many events; each state change is one delivery.
        return f"{name}:{data.id}:{data.attributes.get('updated_at', '')}"
    return f"{name}:{data.id}"


def _apply_event(context: AppContext, event: WebhookEvent, payload: dict[str, Any]) -> WebhookOut:
    user_id = event.meta.custom_data.user_id
    try:
        with context.db.transaction(user_id) as session:
            user = session.execute(
                select(User).where(User.id == user_id).with_for_update()
            ).scalar_one_or_none()
            if user is None:
                raise invalid(
                    (("body", "meta", "custom_data", "user_id"), "custom_data.user_id is unknown")
                )
            fresh = session.execute(
                insert(PaymentEvent)
                .values(
                    user_id=user_id,
                    key=_event_key(event),
                    event_name=event.meta.event_name,
                    payload=payload,
                )
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(PaymentEvent.id)
            ).scalar_one_or_none()
            if fresh is None:
                return WebhookOut(status="duplicate")
            return _handle(context, session, user, event)
    except payments.ForeignPayment as error:
        raise _foreign("payment") from error
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) != RLS_VIOLATION:
            raise
        # An upsert hit a row another user owns (a subscription id in their name).
        raise _foreign("subscription") from error


def _foreign(what: str) -> RequestValidationError:
    return invalid(
        (("body", "data", "id"), f"this {what} belongs to another user than custom_data.user_id")
    )


def _handle(context: AppContext, session: Session, user: User, event: WebhookEvent) -> WebhookOut:
    name, data = event.meta.event_name, event.data
    attributes = data.attributes
    variants = context.settings.lemonsqueezy_variants
    if event.meta.test_mode and not context.settings.lemonsqueezy_test_mode:
        # A test-mode purchase (fake card) must not credit a live store's user.
        return WebhookOut(status="ignored")
    if name in REFUNDS:
        row = payments.payment(session, user.id, REFUNDS[name], data.id)
        payments.record_refund(
            row, _cents(attributes.get("total")), _cents(attributes.get("refunded_amount"))
        )
        return WebhookOut(status="processed", credited=payments.settle(session, row, _allowance))
    if name == "order_created":
        first_item = attributes.get("first_order_item") or {}
        product = by_variant(variants, first_item.get("variant_id"))
        paid = attributes.get("status") == "paid" and (_cents(attributes.get("total")) or 0) > 0
        if not paid or product is None or product.kind != "credits":
            # Subscription orders are credited by their invoice (subscription_payment_success).
            return WebhookOut(status="ignored")
        row = payments.payment(session, user.id, "order", data.id)
        row.granted = product.credits
        return WebhookOut(status="processed", credited=payments.settle(session, row, _allowance))
    if name == "subscription_payment_success":
        row = payments.payment(session, user.id, "invoice", data.id)
        row.subscription_id = str(attributes.get("subscription_id"))
        # Priced at the plan in force when it was issued, not the subscription's current one.
        # (Lemon Squeezy sends created_at; without it, the plan in force on arrival.)
        row.issued_at = _timestamp(attributes.get("created_at")) or datetime.now(UTC)
        credited = payments.settle(session, row, _allowance)
        # Before any event of its subscription: recorded, credited when the plan is known.
        return WebhookOut(
            status="pending" if row.granted is None else "processed", credited=credited
        )
    if name.startswith("subscription_"):
        product = by_variant(variants, attributes.get("variant_id"))
        event_at = _timestamp(attributes.get("updated_at"))
        if product is None or product.tier is None or event_at is None:
            return WebhookOut(status="ignored")
        payments.record_plan(session, user.id, data.id, event_at, product.tier)
        credited = sum(
            payments.settle(session, row, _allowance)
            for row in payments.invoices_of(session, user.id, data.id)
        )
        changed = session.execute(
            insert(Subscription)
            .values(
                id=data.id,
                user_id=user.id,
                tier=product.tier,
                status=str(attributes.get("status", "")),
                event_at=event_at,
            )
            .on_conflict_do_update(
                index_elements=["id"],
                set_={
                    "tier": product.tier,
                    "status": str(attributes.get("status", "")),
                    "event_at": event_at,
                },
                # Events may arrive in any order: only a newer one changes the state.
                where=Subscription.event_at < event_at,
            )
            .returning(Subscription.id)
        ).scalar_one_or_none()
        if changed is not None:  # else older than the state we know (its plan still counts)
            _set_tier_from_subscriptions(session, user)
        if changed is None and not credited:
            return WebhookOut(status="ignored")
        return WebhookOut(status="processed", credited=credited)
    return WebhookOut(status="ignored")


def _set_tier_from_subscriptions(session: Session, user: User) -> None:
    """The user's tier is that of their best paid-up subscription (free without one)."""
    active = session.execute(
        select(Subscription.id, Subscription.tier, Subscription.status).where(
            Subscription.user_id == user.id, Subscription.status.in_(PAID_STATUSES)
        )
    ).all()
    best = max(active, key=lambda row: TIER_RANK[row.tier], default=None)
    user.tier = best.tier if best else "free"
    user.subscription_id = best.id if best else None
    user.subscription_status = best.status if best else None


def _timestamp(value: object) -> datetime | None:
    """An ISO-8601 time; one without an offset is UTC (Lemon Squeezy sends UTC)."""
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _allowance(tier: str) -> int:
    return next(p.credits for p in PRODUCTS.values() if p.tier == tier)


def _cents(amount: object) -> int | None:
    """An amount in cents (Lemon Squeezy sends integers), or None if it is not one."""
    if isinstance(amount, bool):
        return None
    try:
        value = int(str(amount))
    except ValueError:
        return None
    return value if 0 <= value < 2**53 else None


@router.get(
    "/ledger",
    response_model=Page[LedgerEntryOut],
    responses=errors(401, 429),
    dependencies=[Depends(rate_limit)],
)
def credit_ledger(
    principal: CurrentUser, context: ContextDep, limit: Limit = 50, offset: Offset = 0
) -> Page[LedgerEntryOut]:
    with context.db.transaction(principal.user_id, read_only=True) as session:
        rows = list(
            session.execute(
                select(CreditEntry)
                .where(CreditEntry.user_id == principal.user_id)
                .order_by(CreditEntry.id.desc())
                .limit(limit + 1)
                .offset(offset)
            ).scalars()
        )
    return Page(
        items=[
            LedgerEntryOut(
                id=row.id,
                kind=row.kind,
                amount=row.amount,
                balance_after=row.balance_after,
                key=row.key,
                job_id=row.job_id,
                created_at=row.created_at,
            )
            for row in rows[:limit]
        ],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(rows) > limit else None,
    )
