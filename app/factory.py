"""Builds a FastAPI application from some or all of the services."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import psycopg
import redis
from fastapi import APIRouter, FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import Receive, Scope, Send

from app.api import health
from app.api.context import AppContext
from app.api.headers import SecurityHeadersMiddleware
from app.api.schemas import errors
from app.core.config import Settings, get_settings
from app.core.logging import RequestIdMiddleware, configure_logging
from app.core.metrics import HttpMetricsMiddleware
from app.core.statements import StatementPoolTimeout

logger = logging.getLogger(__name__)
OAUTH_STATE_COOKIE = "pingvas_oauth"
MAX_BODY_BYTES = 64 * 1024


def create_app(
    routers: Iterable[APIRouter],
    *,
    title: str = "Pingvas API",
    settings: Settings | None = None,
) -> FastAPI:
    """An application with the health/metrics endpoints plus ``routers``.

    ``settings`` default to the environment (validated here, i.e. at start-up).
    """
    settings = settings or get_settings()
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    context = AppContext.from_settings(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            context.queue.ensure_groups()
        except redis.RedisError as error:
            logger.warning("could not create the queue's consumer groups yet: %s", error)
        yield
        await context.aclose()

    app = FastAPI(
        title=title,
        version="1.0.0",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,  # one documentation page (Swagger UI); ReDoc loads a third-party script
        openapi_url="/api/openapi.json",
        # Every route: a larger declared or streamed body is a 413 before it is all read
        # (routes that take more, the webhook, say so themselves).
        max_body_size=MAX_BODY_BYTES,
    )
    app.state.context = context
    app.include_router(health.router)
    for router in routers:
        # 400: a body that cannot be parsed at all (FastAPI answers before validation).
        app.include_router(router, responses=errors(400))

    # Authlib keeps the OAuth state (and nonce) in this short-lived signed cookie; only
    # the sign-in routes read it, so no other request pays for the middleware.
    app.add_middleware(
        SignInSessions,
        secret_key=settings.session_secret.get_secret_value(),
        session_cookie=OAUTH_STATE_COOKIE,
        max_age=600,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-CSRF-Token"],
        )
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.secure_cookies)
    app.add_middleware(RequestIdMiddleware)  # every line of a request has its id
    # Outermost: a 5xx from any layer (a middleware's own error included) is counted.
    app.add_middleware(HttpMetricsMiddleware)
    _add_error_handlers(app)
    return app


class SignInSessions(SessionMiddleware):
    """Starlette's signed-cookie sessions on the sign-in routes (``/api/auth/``) only."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/auth/"):
            await super().__call__(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _add_error_handlers(app: FastAPI) -> None:
    async def unavailable(request: Request, error: Exception) -> JSONResponse:
        logger.error("%s %s: backend unavailable: %s", request.method, request.url.path, error)
        return JSONResponse(
            {"detail": "a backend service is unavailable; try again"},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )

    async def invalid_request(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return JSONResponse({"detail": validation_problems(error)}, status_code=422)

    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(OperationalError, unavailable)
    app.add_exception_handler(PoolTimeout, unavailable)  # every pooled connection busy
    # The same two from the event loop's statements (app/core/statements.py).
    app.add_exception_handler(psycopg.OperationalError, unavailable)
    app.add_exception_handler(StatementPoolTimeout, unavailable)
    app.add_exception_handler(redis.ConnectionError, unavailable)
    app.add_exception_handler(redis.TimeoutError, unavailable)


def validation_problems(error: RequestValidationError) -> list[dict[str, object]]:
    """FastAPI's validation list without the ``input`` and ``ctx`` it echoes: those may
    hold NaN, infinities or lone surrogates, which no JSON encoder accepts (a 500), and
    echo whatever the client sent. Messages and locations are made encodable."""
    return [
        {
            "type": problem["type"],
            "loc": [part if isinstance(part, int) else _encodable(part) for part in problem["loc"]],
            "msg": _encodable(problem["msg"]),
        }
        for problem in error.errors()
    ]


def _encodable(value: object) -> str:
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8")
