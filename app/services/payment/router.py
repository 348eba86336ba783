"""Payment service (Lemon Squeezy): checkout links, the signed webhook, the ledger."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

import httpx2
from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.api.context import AppContext
from app.api.deps import AuthFirstRoute, ContextDep, CurrentUser, rate_limit
from app.api.schemas import Limit, Offset, Page, errors, invalid
from app.core.security import hmac_sha256_hex_matches
from app.models import CreditEntry, PaymentEvent, Subscription, User
from app.services.payment.products import PAID_STATUSES, PRODUCTS, by_variant
from app.store import ledger

logger = logging.getLogger(__name__)
router = APIRouter(
    prefix="/api/payments",
    tags=["payments"],
    route_class=AuthFirstRoute,
    responses=errors(503),
)
MAX_WEBHOOK_BYTES = 256 * 1024
TIER_RANK = {"basic": 1, "pro": 2}
# Refund event -> (ledger key of what the payment granted, key and kind of the take-back).
REFUNDS: dict[str, tuple[Callable[[str], str], Callable[[str], str], str]] = {
    "order_refunded": (ledger.order_key, ledger.order_refund_key, "purchase_refunded"),
    "subscription_payment_refunded": (
        ledger.invoice_key,
        ledger.invoice_refund_key,
        "subscription_refunded",
    ),
}


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
    status: Literal["processed", "duplicate", "ignored"]
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
    responses=errors(401, 409, 413, 503),
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


def _event_key(event: WebhookEvent) -> str:
    name, data = event.meta.event_name, event.data
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
    except ledger.AlreadyRecorded:
        # Same order or invoice delivered under another event key: nothing changes.
        return WebhookOut(status="duplicate")


def _handle(context: AppContext, session: Session, user: User, event: WebhookEvent) -> WebhookOut:
    name, data = event.meta.event_name, event.data
    attributes = data.attributes
    variants = context.settings.lemonsqueezy_variants
    if event.meta.test_mode and not context.settings.lemonsqueezy_test_mode:
        # A test-mode purchase (fake card) must not credit a live store's user.
        return WebhookOut(status="ignored")
    if name in REFUNDS:
        granted_key, refund_key, kind = REFUNDS[name]
        granted = ledger.granted(session, granted_key(data.id))
        if granted is None:
            return WebhookOut(status="ignored")  # it never granted anything
        # Everything the payment granted, spent or not: the balance may go negative.
        ledger.apply(session, user.id, -granted, refund_key(data.id), kind)
        return WebhookOut(status="processed", credited=-granted)
    if name == "order_created":
        first_item = attributes.get("first_order_item") or {}
        product = by_variant(variants, first_item.get("variant_id"))
        paid = attributes.get("status") == "paid" and _positive(attributes.get("total"))
        if not paid or product is None or product.kind != "credits":
            # Subscription orders are credited by their invoice (subscription_payment_success).
            return WebhookOut(status="ignored")
        ledger.apply(session, user.id, product.credits, ledger.order_key(data.id), "purchase")
        return WebhookOut(status="processed", credited=product.credits)
    if name == "subscription_payment_success":
        plan = session.execute(
            select(Subscription.tier).where(
                Subscription.id == str(attributes.get("subscription_id")),
                Subscription.user_id == user.id,
            )
        ).scalar_one_or_none()
        if plan is None:
            # The subscription_created event has not arrived yet; Lemon Squeezy retries.
            raise HTTPException(
                status.HTTP_409_CONFLICT, detail="subscription not known yet; retry later"
            )
        # The invoice's own plan, whatever else the user subscribes to.
        allowance = next(p.credits for p in PRODUCTS.values() if p.tier == plan)
        ledger.apply(session, user.id, allowance, ledger.invoice_key(data.id), "subscription")
        return WebhookOut(status="processed", credited=allowance)
    if name.startswith("subscription_"):
        product = by_variant(variants, attributes.get("variant_id"))
        event_at = _timestamp(attributes.get("updated_at"))
        if product is None or product.tier is None or event_at is None:
            return WebhookOut(status="ignored")
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
        if changed is None:
            return WebhookOut(status="ignored")  # older than what we know (recorded only)
        _set_tier_from_subscriptions(session, user)
        return WebhookOut(status="processed")
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
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _positive(amount: object) -> bool:
    """A total in cents above zero (a free order grants nothing)."""
    try:
        return int(str(amount)) > 0
    except ValueError:
        return False


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
