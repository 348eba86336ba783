"""Liveness, readiness and Prometheus metrics; present on every service."""

from __future__ import annotations

import logging

import redis
from fastapi import APIRouter, Response, status
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from app.api.deps import ContextDep
from app.core.activity import ActiveUsers
from app.core.metrics import ACTIVE_USERS, QUEUE_LENGTH, render_latest
from app.core.queue import TIERS

logger = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
def readyz(context: ContextDep, response: Response) -> Health:
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
    ready = all(value == "ok" for value in checks.values())
    if not ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Health(status="ok" if ready else "unavailable", checks=checks)


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
