"""The model catalogue: one folder per pipeline under ``MODELS_DIR`` (EFS in the cluster),
each with a ``manifest.json``. The file system is the catalogue; there is no table."""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

from cachetools import TTLCache
from pydantic import BaseModel, ConfigDict, Field, ValidationError

MANIFEST = "manifest.json"
MODEL_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
logger = logging.getLogger(__name__)


class ModelManifest(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1, max_length=64, description="e.g. stable-diffusion, sdxl")
    default_width: int = Field(ge=64, le=2048, multiple_of=8)
    default_height: int = Field(ge=64, le=2048, multiple_of=8)
    default_steps: int = Field(ge=1, le=150)
    description: str = ""


class ModelInfo(BaseModel):
    id: str
    name: str
    kind: str
    default_width: int
    default_height: int
    default_steps: int
    description: str


class ModelCatalogue:
    def __init__(self, models_dir: Path, ttl_seconds: float = 30.0) -> None:
        self.models_dir = models_dir
        self._lock = threading.Lock()
        # One entry: the last scan, rescanned once it is ttl_seconds old.
        self._scans: TTLCache[str, dict[str, ModelInfo]] = TTLCache(maxsize=1, ttl=ttl_seconds)

    def all(self) -> list[ModelInfo]:
        return sorted(self._current().values(), key=lambda model: model.id)

    def get(self, model_id: str) -> ModelInfo | None:
        return self._current().get(model_id)

    def _current(self) -> dict[str, ModelInfo]:
        with self._lock:
            models = self._scans.get("models")
            if models is None:
                models = self._scans["models"] = self._scan()
            return models

    def _scan(self) -> dict[str, ModelInfo]:
        models: dict[str, ModelInfo] = {}
        if not self.models_dir.is_dir():
            logger.warning(
                "MODELS_DIR %s is not a directory; the catalogue is empty", self.models_dir
            )
            return models
        for folder in self.models_dir.iterdir():
            manifest = folder / MANIFEST
            if not (MODEL_ID.match(folder.name) and manifest.is_file()):
                continue
            try:
                parsed = ModelManifest.model_validate_json(manifest.read_bytes())
            except (OSError, ValidationError) as error:
                logger.warning("skipping model %s: bad manifest (%s)", folder.name, error)
                continue
            models[folder.name] = ModelInfo(id=folder.name, **parsed.model_dump())
        return models
