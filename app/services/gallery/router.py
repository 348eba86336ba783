"""Gallery service: the caller's images (written by the GPU worker)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Annotated

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import APIRouter, Depends, HTTPException, Path, status
from pydantic import BaseModel
from sqlalchemy import delete, select

from app.api.context import AppContext
from app.api.deps import AuthFirstRoute, ContextDep, CurrentUser, rate_limit
from app.api.schemas import Limit, Offset, Page, errors
from app.models import Image

logger = logging.getLogger(__name__)
router = APIRouter(
    prefix="/api/images",
    tags=["images"],
    dependencies=[Depends(rate_limit)],
    route_class=AuthFirstRoute,
    responses=errors(401, 403, 429, 503),
)
ImageId = Annotated[uuid.UUID, Path(description="image id")]


class ImageOut(BaseModel):
    id: uuid.UUID
    job_id: uuid.UUID
    url: str
    width: int
    height: int
    created_at: datetime


def _out(context: AppContext, image: Image) -> ImageOut:
    return ImageOut(
        id=image.id,
        job_id=image.job_id,
        url=context.storage.url(image.s3_key),
        width=image.width,
        height=image.height,
        created_at=image.created_at,
    )


@router.get("", response_model=Page[ImageOut])
def list_images(
    principal: CurrentUser, context: ContextDep, limit: Limit = 20, offset: Offset = 0
) -> Page[ImageOut]:
    with context.db.transaction(principal.user_id, read_only=True) as session:
        rows = list(
            session.execute(
                select(Image)
                .where(Image.user_id == principal.user_id)
                .order_by(Image.created_at.desc(), Image.id)
                .limit(limit + 1)
                .offset(offset)
            ).scalars()
        )
    return Page(
        items=[_out(context, image) for image in rows[:limit]],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(rows) > limit else None,
    )


@router.get("/{image_id}", response_model=ImageOut, responses=errors(404))
def get_image(image_id: ImageId, principal: CurrentUser, context: ContextDep) -> ImageOut:
    with context.db.transaction(principal.user_id) as session:
        image = session.execute(
            select(Image).where(Image.id == image_id, Image.user_id == principal.user_id)
        ).scalar_one_or_none()
    if image is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="image not found")
    return _out(context, image)


@router.delete("/{image_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404))
def delete_image(image_id: ImageId, principal: CurrentUser, context: ContextDep) -> None:
    """Remove the row, the S3 object (all versions) and the CDN's cached copies. Storage
    goes first, inside the transaction: if S3 or the invalidation fails the row stays and
    the client can retry."""
    with context.db.transaction(principal.user_id) as session:
        key = session.execute(
            delete(Image)
            .where(Image.id == image_id, Image.user_id == principal.user_id)
            .returning(Image.s3_key)
        ).scalar_one_or_none()
        if key is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail="image not found")
        try:
            context.storage.delete(key)
        except (BotoCoreError, ClientError) as error:
            logger.exception("could not delete s3 object %s", key)
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, detail="image storage unavailable; try again"
            ) from error
