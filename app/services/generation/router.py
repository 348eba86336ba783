"""Generation service: accept a job (debit + record + enqueue), report and cancel it."""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal, cast

import redis
from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.api.context import AppContext
from app.api.deps import AuthFirstRoute, ContextDep, CurrentUser, rate_limit
from app.api.schemas import (
    Limit,
    Offset,
    Page,
    PrintableText,
    PromptText,
    RequestBody,
    errors,
    invalid,
)
from app.core import logging as log_context
from app.core.activity import ActiveUsers
from app.core.generation import GenerationParams
from app.core.job_errors import JobErrorCode
from app.core.metrics import CREDITS_CONSUMED, CREDITS_REFUNDED, GENERATION_REQUESTS
from app.core.queue import JobMessage
from app.models import Image, Job, JobStatus
from app.services.generation.pricing import allowed_tiers, cost, limit_violations
from app.store.jobs import JobNotFound, JobStore, NotCancelable

logger = logging.getLogger(__name__)
# Rate limits are per route here: POST counts its request inside its handler, on the
# event loop with its statement and its XADD.
router = APIRouter(
    prefix="/api/generations",
    tags=["generations"],
    route_class=AuthFirstRoute,
    responses=errors(401, 403, 429, 503),
)
JobId = Annotated[uuid.UUID, Path(description="job id")]
MAX_SEED = 2**32 - 1


class GenerationRequest(RequestBody):
    """The HTTP body: :class:`GenerationParams` with their bounds, the negative prompt and
    the seed optional (:meth:`params` draws a seed when none is given)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    prompt: Annotated[PromptText, Field(min_length=1, max_length=2000)]
    negative_prompt: Annotated[PrintableText, Field(max_length=2000)] | None = None
    model: Annotated[str, Field(min_length=1, max_length=64)]
    width: Annotated[int, Field(ge=64, le=2048, multiple_of=8)] = 512
    height: Annotated[int, Field(ge=64, le=2048, multiple_of=8)] = 512
    steps: Annotated[int, Field(ge=1, le=150)] = 25
    guidance_scale: Annotated[float, Field(ge=0, le=30, allow_inf_nan=False)] = 7.5
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] | None = None
    num_images: Annotated[int, Field(ge=1, le=8)] = 1

    def params(self) -> GenerationParams:
        return GenerationParams(
            **self.model_dump(exclude={"negative_prompt", "seed"}),
            negative_prompt=self.negative_prompt or "",
            seed=self.seed if self.seed is not None else secrets.randbelow(MAX_SEED + 1),
        )


class Accepted(BaseModel):
    id: uuid.UUID
    status: Literal["queued"]
    cost: int


class ImageRef(BaseModel):
    id: uuid.UUID
    url: str


class GenerationOut(BaseModel):
    id: uuid.UUID
    status: JobStatus
    model: str
    prompt: str
    width: int
    height: int
    steps: int
    num_images: int
    seed: int
    cost: int
    created_at: datetime
    images: list[ImageRef]
    error: str | None = Field(default=None, description="why the job failed, for its owner")
    error_code: JobErrorCode | None = None


class Canceled(BaseModel):
    id: uuid.UUID
    status: Literal["canceled"]
    refunded: int


@router.post(
    "", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted, responses=errors(402, 404)
)
async def create_generation(
    body: GenerationRequest, principal: CurrentUser, context: ContextDep, request: Request
) -> Accepted:
    """Debit the credits and record the job in one statement, then enqueue it on the
    stream of the user's tier. 402 when the credits are short.

    On the event loop from end to end (rate limit, statement, XADD): no worker thread, so
    no thread hop and no wait for the GIL when an answer arrives (docs/app.md)."""
    await rate_limit(request, context)  # before anything is debited
    if context.catalogue.get(body.model) is None:
        raise invalid((("body", "model"), f"unknown model {body.model!r}; see GET /api/models"))
    job_id = uuid.uuid4()
    params = body.params()
    price = cost(params)
    jobs = JobStore(context.db)
    # The debit, its ledger entry and the job row: one statement, one round trip. The
    # tiers whose bounds admit the request come from pricing.py, the one table of bounds.
    created = await jobs.create_async(
        principal.user_id, job_id, params, price, allowed_tiers(params)
    )
    if created.outcome == "unknown" or created.tier is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="user not found")
    tier = created.tier
    if created.outcome != "queued":
        # Above the tier's bounds answers 422 before a short balance answers 402.
        _check_tier_bounds(tier, params)
        GENERATION_REQUESTS.labels(tier, "insufficient_credits").inc()
        raise HTTPException(
            status.HTTP_402_PAYMENT_REQUIRED,
            detail=f"{price} credits needed, {created.balance} available",
        )
    message = JobMessage(
        job_id=job_id,
        user_id=principal.user_id,
        tier=tier,
        params=params,
        cost=price,
        enqueued_at=datetime.now(UTC),
        request_id=log_context.current("request_id") or "",
    )
    active_users = ActiveUsers(context.redis)
    try:
        # The active-users metric rides on the XADD's round trip.
        await context.queue.enqueue_with(
            context.redis_async.get(),
            message,
            lambda pipeline: active_users.record_into(pipeline, principal.user_id, tier),
        )
    except redis.RedisError as error:
        logger.exception("enqueue failed for job %s; failing and refunding it", job_id)
        if await run_in_threadpool(jobs.fail, message, "queue_unavailable"):
            CREDITS_REFUNDED.labels("enqueue_failed").inc()
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="the job queue is unavailable; try again",
            headers={"Retry-After": "5"},
        ) from error
    GENERATION_REQUESTS.labels(tier, "queued").inc()
    CREDITS_CONSUMED.labels(tier).inc(price)
    return Accepted(id=job_id, status="queued", cost=price)


def _check_tier_bounds(tier: str, params: GenerationParams) -> None:
    problems = limit_violations(tier, params)
    if problems:
        GENERATION_REQUESTS.labels(tier, "rejected").inc()
        raise invalid(*((("body", field), message) for field, message in problems))


def _out(context: AppContext, job: Job, images: list[Image]) -> GenerationOut:
    return GenerationOut(
        id=job.id,
        status=job.status,
        model=job.model,
        prompt=job.prompt,
        width=job.width,
        height=job.height,
        steps=job.steps,
        num_images=job.num_images,
        seed=job.seed,
        cost=job.cost,
        created_at=job.created_at,
        images=[ImageRef(id=image.id, url=context.storage.url(image.s3_key)) for image in images],
        error=job.error,
        error_code=cast(JobErrorCode | None, job.error_code),
    )


def _images_of(session: Session, job_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Image]]:
    found: dict[uuid.UUID, list[Image]] = {job_id: [] for job_id in job_ids}
    if job_ids:
        rows = session.execute(
            select(Image).where(Image.job_id.in_(job_ids)).order_by(Image.created_at, Image.id)
        ).scalars()
        for image in rows:
            found[image.job_id].append(image)
    return found


@router.get("", response_model=Page[GenerationOut], dependencies=[Depends(rate_limit)])
def list_generations(
    principal: CurrentUser, context: ContextDep, limit: Limit = 20, offset: Offset = 0
) -> Page[GenerationOut]:
    with context.db.transaction(principal.user_id, read_only=True) as session:
        # No WHERE user_id: row-level security returns only the caller's jobs.
        jobs = list(
            session.execute(
                select(Job).order_by(Job.created_at.desc(), Job.id).limit(limit + 1).offset(offset)
            ).scalars()
        )
        page = jobs[:limit]
        images = _images_of(session, [job.id for job in page])
    return Page(
        items=[_out(context, job, images[job.id]) for job in page],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(jobs) > limit else None,
    )


@router.get(
    "/{job_id}",
    response_model=GenerationOut,
    responses=errors(404),
    dependencies=[Depends(rate_limit)],
)
def get_generation(job_id: JobId, principal: CurrentUser, context: ContextDep) -> GenerationOut:
    # The writer, not the reader: a client polls right after creating the job.
    with context.db.transaction(principal.user_id) as session:
        job = session.execute(
            select(Job).where(Job.id == job_id, Job.user_id == principal.user_id)
        ).scalar_one_or_none()
        if job is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail="generation not found")
        images = _images_of(session, [job.id])[job.id]
    return _out(context, job, images)


@router.delete(
    "/{job_id}",
    response_model=Canceled,
    responses=errors(404, 409),
    dependencies=[Depends(rate_limit)],
)
def cancel_generation(job_id: JobId, principal: CurrentUser, context: ContextDep) -> Canceled:
    """Cancel a job that no worker has started, and refund it."""
    try:
        refunded = JobStore(context.db).cancel(principal.user_id, job_id)
    except JobNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="generation not found") from error
    except NotCancelable as error:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(error)) from error
    CREDITS_REFUNDED.labels("canceled").inc()
    return Canceled(id=job_id, status="canceled", refunded=refunded)
