"""Model service: the catalogue of pipelines under MODELS_DIR."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, status

from app.api.deps import AuthFirstRoute, ContextDep, rate_limit
from app.api.schemas import errors
from app.catalogue import ModelInfo

router = APIRouter(
    prefix="/api/models",
    tags=["models"],
    dependencies=[Depends(rate_limit)],
    route_class=AuthFirstRoute,
    responses=errors(429, 503),
)
ModelId = Annotated[str, Path(min_length=1, max_length=64, description="model folder name")]


@router.get("", response_model=list[ModelInfo])
def list_models(context: ContextDep) -> list[ModelInfo]:
    return context.catalogue.all()


@router.get("/{model_id}", response_model=ModelInfo, responses=errors(404))
def get_model(model_id: ModelId, context: ContextDep) -> ModelInfo:
    model = context.catalogue.get(model_id)
    if model is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"model {model_id!r} not found")
    return model
