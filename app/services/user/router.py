"""User service: sign-in (Google, Discord, development login), token refresh, profile."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any, Literal

import httpx2
from authlib.integrations.base_client.errors import OAuthError
from fastapi import APIRouter, Cookie, Depends, HTTPException, Request, Response, status
from fastapi.responses import RedirectResponse
from joserfc.errors import JoseError
from pydantic import BaseModel, EmailStr, Field
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.api.context import AppContext
from app.api.deps import (
    AuthFirstRoute,
    ContextDep,
    CurrentUser,
    Principal,
    authenticate,
    rate_limit,
)
from app.api.schemas import RequestBody, errors
from app.core.security import (
    ACCESS_COOKIE,
    CSRF_COOKIE,
    CSRF_HEADER,
    REFRESH_COOKIE,
    InvalidToken,
    TokenPair,
)
from app.models import RevokedSession, UsedRefreshToken, User
from app.store import ledger

logger = logging.getLogger(__name__)


auth_router = APIRouter(
    prefix="/api/auth",
    tags=["auth"],
    # Cache-Control: no-store on every answer (tokens, profile): app.api.headers.
    dependencies=[Depends(rate_limit)],
    route_class=AuthFirstRoute,
    responses=errors(429, 503),
)
users_router = APIRouter(
    prefix="/api/users",
    tags=["users"],
    dependencies=[Depends(rate_limit)],
    route_class=AuthFirstRoute,
    responses=errors(401, 429, 503),
)

Provider = Literal["google", "discord"]
REFRESH_PATH = "/api/auth"


class DevLoginRequest(RequestBody):
    email: EmailStr


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - OAuth token type, not a secret
    expires_in: int
    refresh_token: str


class RefreshRequest(RequestBody):
    refresh_token: str | None = Field(default=None, max_length=4096)


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    tier: str
    credits: int


def _token_response(pair: TokenPair) -> TokenResponse:
    return TokenResponse(
        access_token=pair.access_token, expires_in=pair.expires_in, refresh_token=pair.refresh_token
    )


def set_session_cookies(response: Response, context: AppContext, pair: TokenPair) -> None:
    secure = context.settings.secure_cookies
    response.set_cookie(
        ACCESS_COOKIE,
        pair.access_token,
        max_age=pair.expires_in,
        httponly=True,
        secure=secure,
        samesite="lax",
    )
    response.set_cookie(
        REFRESH_COOKIE,
        pair.refresh_token,
        max_age=int(context.tokens.refresh_ttl.total_seconds()),
        httponly=True,
        secure=secure,
        samesite="strict",
        path=REFRESH_PATH,
    )
    # Readable by the page's script, which echoes it in the X-CSRF-Token header.
    response.set_cookie(
        CSRF_COOKIE,
        context.csrf.for_session(pair.session_id),
        max_age=int(context.tokens.refresh_ttl.total_seconds()),
        httponly=False,
        secure=secure,
        samesite="lax",
    )


def _revoke(session: Session, user_id: uuid.UUID, session_id: str, reason: str) -> None:
    session.execute(
        insert(RevokedSession)
        .values(session_id=session_id, user_id=user_id, reason=reason)
        .on_conflict_do_nothing()
    )


@auth_router.post("/dev-login", response_model=TokenResponse, responses=errors(404))
def dev_login(body: DevLoginRequest, context: ContextDep) -> TokenResponse:
    """Sign in by e-mail alone; only when ``AUTH_DEV_LOGIN=true`` (never in prod)."""
    if not context.settings.auth_dev_login:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="development login is disabled")
    user_id = ledger.ensure_user(context.db, str(body.email), context.settings.signup_credits)
    return _token_response(context.tokens.issue(user_id))


@auth_router.post("/refresh", response_model=TokenResponse, responses=errors(401, 403))
def refresh(
    request: Request,
    response: Response,
    context: ContextDep,
    body: RefreshRequest | None = None,
    refresh_cookie: Annotated[str | None, Cookie(alias=REFRESH_COOKIE)] = None,
) -> TokenResponse:
    """Exchange a refresh token (body, or the refresh cookie) for a new pair.

    Refresh tokens are single use: replaying one revokes its whole session.
    """
    token = body.refresh_token if body and body.refresh_token else refresh_cookie
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="refresh token missing")
    try:
        claims = context.tokens.decode(token, "refresh")
    except InvalidToken as error:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=str(error)) from error
    via_cookie = not (body and body.refresh_token)
    if via_cookie and not context.csrf.valid(
        claims.session_id, request.cookies.get(CSRF_COOKIE), request.headers.get(CSRF_HEADER)
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="CSRF token missing or invalid")
    # Kept in PostgreSQL, not Redis: a Redis that lost its data must not bring a revoked
    # session or a used refresh token back to life.
    with context.db.transaction(claims.user_id) as session:
        revoked = session.execute(
            select(RevokedSession.session_id).where(RevokedSession.session_id == claims.session_id)
        ).first()
        first_use = None
        if revoked is None:
            first_use = session.execute(
                insert(UsedRefreshToken)
                .values(
                    token_id=claims.token_id,
                    user_id=claims.user_id,
                    session_id=claims.session_id,
                    expires_at=claims.expires_at,
                )
                .on_conflict_do_nothing()
                .returning(UsedRefreshToken.token_id)
            ).first()
            if first_use is None:
                _revoke(session, claims.user_id, claims.session_id, "reused")
    if revoked is not None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="session revoked")
    if first_use is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="refresh token already used")
    pair = context.tokens.issue(claims.user_id, claims.session_id)
    if via_cookie:
        set_session_cookies(response, context, pair)
    return _token_response(pair)


@auth_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=errors(401, 403))
def logout(
    principal: Annotated[Principal, Depends(authenticate)], context: ContextDep, response: Response
) -> None:
    """End the session: its refresh tokens stop working and the cookies are cleared."""
    with context.db.transaction(principal.user_id) as session:
        _revoke(session, principal.user_id, principal.session_id, "logout")
    response.delete_cookie(ACCESS_COOKIE)
    response.delete_cookie(REFRESH_COOKIE, path=REFRESH_PATH)
    response.delete_cookie(CSRF_COOKIE)


def _oauth_client(context: AppContext, provider: Provider) -> Any:
    client = context.oauth.create_client(provider)
    if client is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"{provider} sign-in is not configured"
        )
    return client


@auth_router.get("/{provider}/login", responses=errors(404, 502))
async def oauth_login(provider: Provider, request: Request, context: ContextDep) -> Response:
    client = _oauth_client(context, provider)
    redirect_uri = request.url_for("oauth_callback", provider=provider)
    try:
        response: Response = await client.authorize_redirect(request, str(redirect_uri))
    except (OAuthError, httpx2.HTTPError) as error:
        raise HTTPException(
            status.HTTP_502_BAD_GATEWAY, detail="identity provider error"
        ) from error
    return response


@auth_router.get(
    "/{provider}/callback", name="oauth_callback", responses=errors(400, 403, 404, 502)
)
async def oauth_callback(provider: Provider, request: Request, context: ContextDep) -> Response:
    """Check the state, exchange the code, require a verified e-mail, start a session."""
    client = _oauth_client(context, provider)
    try:
        token = await client.authorize_access_token(request)
        if provider == "google":
            info = token.get("userinfo") or {}
            email, verified = info.get("email"), info.get("email_verified") is True
        else:
            profile = (await client.get("users/@me", token=token)).json()
            email, verified = profile.get("email"), profile.get("verified") is True
    except httpx2.HTTPError as error:
        raise HTTPException(
            status.HTTP_502_BAD_GATEWAY, detail="identity provider unreachable"
        ) from error
    except (OAuthError, JoseError) as error:
        # A missing or mismatching state (CSRF on the login flow), a bad code, or an ID
        # token that fails validation (signature, issuer, audience, nonce, expiry).
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, detail=f"sign-in failed: {error.error}"
        ) from error
    if not email or not verified:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail="a verified e-mail address is required"
        )
    user_id = ledger.ensure_user(context.db, str(email), context.settings.signup_credits)
    pair = context.tokens.issue(user_id)
    response = RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)
    set_session_cookies(response, context, pair)
    return response


@users_router.get("/me", response_model=UserOut, responses=errors(403, 404))
def me(principal: CurrentUser, context: ContextDep) -> UserOut:
    with context.db.transaction(principal.user_id) as session:
        user = session.execute(
            select(User).where(User.id == principal.user_id)
        ).scalar_one_or_none()
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="user not found")
    return UserOut(id=user.id, email=user.email, tier=user.tier, credits=user.credits)
