"""Typed dependencies: the application context, the caller, and rate limits.

Authentication runs before the request body is read: FastAPI parses the body before it
solves dependencies, so routes that need a caller use :class:`AuthFirstRoute`, which
checks the credentials first (a 401 costs no body) and leaves the :class:`Principal`
in the request's state for the :func:`authenticate` dependency.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response, status
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.api.context import AppContext
from app.core import logging as log_context
from app.core.security import ACCESS_COOKIE, CSRF_COOKIE, CSRF_HEADER, InvalidToken

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The OpenAPI security scheme; the check itself is authenticate_request (cookie too).
bearer = HTTPBearer(
    auto_error=False,
    description="Access token from /api/auth/*; browsers may use the session cookie instead",
)


async def get_context(request: Request) -> AppContext:
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


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    session_id: str


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=message, headers={"WWW-Authenticate": "Bearer"}
    )


def authenticate_request(request: Request, context: AppContext) -> Principal:
    """Bearer token, or the session cookie plus a CSRF token on unsafe methods. CPU only
    (the token is verified, not looked up)."""
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


async def authenticate(
    request: Request,
    context: ContextDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal or authenticate_request(request, context)


CurrentUser = Annotated[Principal, Depends(authenticate)]


async def rate_limit(request: Request, context: ContextDep) -> None:
    """One counter per request: the caller's, once :class:`AuthFirstRoute` knows it, else
    the client address's. (An authenticated caller is not also counted per address: that
    would be a second Redis round trip on every request, and the WAF already limits each
    address in front of the API.) Runs on the event loop: no worker thread waits on it."""
    settings = context.settings
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is not None:
        decision = await context.limiter.hit(
            "user", str(principal.user_id), settings.rate_limit_user_per_minute
        )
        if not decision.allowed:
            raise _too_many(decision.retry_after, "user")
        return
    decision = await context.limiter.hit(
        "ip", client_ip(request), settings.rate_limit_ip_per_minute
    )
    if not decision.allowed:
        raise _too_many(decision.retry_after, "address")


def _depends_on(dependant: Dependant, call: Callable[..., object]) -> bool:
    return any(sub.call is call or _depends_on(sub, call) for sub in dependant.dependencies)


class AuthFirstRoute(APIRoute):
    """A route whose dependencies include :func:`authenticate` checks the caller before
    FastAPI reads (and parses) the body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not _depends_on(self.dependant, authenticate):
            return handler

        async def authenticate_first(request: Request) -> Response:
            request.state.principal = authenticate_request(request, request.app.state.context)
            return await handler(request)

        return authenticate_first
