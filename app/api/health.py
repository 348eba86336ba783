"""Liveness, readiness and Prometheus metrics; present on every service."""

from __future__ import annotations

import logging
from typing import Literal

import redis
from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError

from app.api.deps import ContextDep
from app.core.activity import ActiveUsers
from app.core.metrics import ACTIVE_USERS, QUEUE_LENGTH, render_latest
from app.core.queue import TIERS

logger = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok", "degraded", "unavailable"]
    checks: dict[str, str] = {}
    unavailable: list[str] = Field(
        default=[], description="what this pod cannot do now (degraded): 'jobs', 'accounts'"
    )


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
def readyz(context: ContextDep, response: Response) -> Health:
    """200 while the pod can serve something: with Redis down it cannot accept jobs
    ("degraded", ``unavailable: ["jobs"]``) but serves everything PostgreSQL holds;
    with PostgreSQL down it serves only the catalogue (``["accounts", "jobs"]``), and
    the routes that need it answer 503 JSON with Retry-After. 503 ("can't serve") only
    when neither is reachable. Every pod shares these backends: failing readiness on
    one of them would take every pod out, and the load balancer would answer for all."""
    checks: dict[str, str] = {}
    try:
        context.db.ping()
        checks["database"] = "ok"
    except SQLAlchemyError as error:
        logger.warning("readiness: database unreachable: %s", error)
        checks["database"] = "unreachable"
    try:
        context.redis.ping()
        checks["redis"] = "ok"
        # A Redis that restarted empty has no consumer groups: recreate them, so KEDA
        # (which scales workers on the group's lag) and the workers find them again. The
        # jobs Redis lost are re-enqueued from PostgreSQL by the first worker that runs.
        if context.queue.ensure_groups():
            logger.warning("readiness: the queue's consumer groups were missing; recreated")
        checks["queue"] = "ok"
    except redis.RedisError as error:
        logger.warning("readiness: redis unreachable: %s", error)
        checks.setdefault("redis", "unreachable")
        checks["queue"] = "unavailable"
    unavailable = []
    if checks["database"] != "ok":
        unavailable.append("accounts")
    if checks["database"] != "ok" or checks["queue"] != "ok":
        unavailable.append("jobs")
    if checks["database"] != "ok" and checks["redis"] != "ok":
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Health(status="unavailable", checks=checks, unavailable=unavailable)
    state: Literal["ok", "degraded"] = "degraded" if unavailable else "ok"
    return Health(status=state, checks=checks, unavailable=unavailable)


@router.get("/metrics", response_class=Response)
def metrics(context: ContextDep) -> Response:
    try:
        for tier, length in context.queue.lengths().items():
            QUEUE_LENGTH.labels(tier).set(length)
        for tier, users in ActiveUsers(context.redis).counts(TIERS).items():
            ACTIVE_USERS.labels(tier).set(users)
    except redis.RedisError as error:
        logger.warning("metrics: queue length unavailable: %s", error)
    body, content_type = render_latest()
    return Response(content=body, media_type=content_type)
