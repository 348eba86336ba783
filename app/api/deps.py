"""Typed dependencies: the application context, the caller, and rate limits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from app.api.context import AppContext
from app.core import logging as log_context
from app.core.security import ACCESS_COOKIE, CSRF_COOKIE, CSRF_HEADER, InvalidToken

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


def client_ip(request: Request) -> str:
    # Behind the ALB, uvicorn's --proxy-headers has already put the client's address here.
    return request.client.host if request.client else "unknown"


def _too_many(retry_after: int, who: str) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        detail=f"rate limit exceeded for this {who}; retry in {retry_after} s",
        headers={"Retry-After": str(retry_after)},
    )


def limit_per_ip(request: Request, context: ContextDep) -> None:
    decision = context.limiter.hit(
        "ip", client_ip(request), context.settings.rate_limit_ip_per_minute
    )
    if not decision.allowed:
        raise _too_many(decision.retry_after, "address")


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    session_id: str


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=message, headers={"WWW-Authenticate": "Bearer"}
    )


def authenticate(request: Request, context: ContextDep) -> Principal:
    """Bearer token, or the session cookie plus a CSRF token on unsafe methods."""
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorised("Authorization must be 'Bearer <token>'")
        via_cookie = False
    else:
        token = request.cookies.get(ACCESS_COOKIE, "")
        if not token:
            raise _unauthorised("not authenticated")
        via_cookie = True
    try:
        claims = context.tokens.decode(token.strip(), "access")
    except InvalidToken as error:
        raise _unauthorised(str(error)) from error
    if via_cookie and request.method not in SAFE_METHODS:
        valid = context.csrf.valid(
            claims.session_id, request.cookies.get(CSRF_COOKIE), request.headers.get(CSRF_HEADER)
        )
        if not valid:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail="CSRF token missing or invalid")
    log_context.annotate(user_id=str(claims.user_id))
    return Principal(claims.user_id, claims.session_id)


def current_user(
    principal: Annotated[Principal, Depends(authenticate)], context: ContextDep
) -> Principal:
    decision = context.limiter.hit(
        "user", str(principal.user_id), context.settings.rate_limit_user_per_minute
    )
    if not decision.allowed:
        raise _too_many(decision.retry_after, "user")
    return principal


CurrentUser = Annotated[Principal, Depends(current_user)]
