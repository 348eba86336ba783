"""Prometheus metrics (SPEC §7) and an ASGI middleware for HTTP request metrics."""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

GENERATION_REQUESTS = Counter(
    "generation_requests_total",
    "Generation requests by tier and outcome (queued, insufficient_credits, rejected).",
    ["tier", "outcome"],
)
GENERATION_DURATION = Histogram(
    "generation_duration_seconds",
    "Time from a job's start on a GPU worker to its images being stored.",
    ["model"],
    buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300, 600),
)
QUEUE_LENGTH = Gauge("queue_length", "Unfinished generation jobs per tier stream.", ["tier"])
CREDITS_CONSUMED = Counter(
    "credits_consumed_total", "Credits debited for generation (before refunds).", ["tier"]
)
CREDITS_REFUNDED = Counter("credits_refunded_total", "Credits refunded.", ["reason"])
ACTIVE_USERS = Gauge(
    "active_users",
    "Distinct users who asked for a generation in the last hour, by tier (app.core.activity).",
    ["tier"],
)
HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests by route template.", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


def render_latest() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST


class HttpMetricsMiddleware:
    """Counts requests per route *template* (never the raw path: bounded label values)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = self._route_template(scope)
            method = scope["method"]
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_DURATION.labels(method, route).observe(time.perf_counter() - started)

    @staticmethod
    def _route_template(scope: Scope) -> str:
        # The router records the matched route in the (shared) scope.
        route = scope.get("route")
        return str(getattr(route, "path", "unmatched"))
