"""Loading diffusers pipelines from ``MODELS_DIR`` and rendering one job with them.

Device and dtype: CUDA with bfloat16 where the GPU supports it (A10G), float16 otherwise
(T4); CPU (and Apple's MPS) in float32. Loading is ``local_files_only``: the worker never
downloads anything, the model folders come from EFS.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from cachetools import LRUCache
from PIL import Image

from app.catalogue import MANIFEST, MODEL_ID
from app.core.generation import GenerationParams
from app.worker.config import DeviceChoice, DtypeChoice

logger = logging.getLogger(__name__)
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
# Called after every denoising step with (step index, total steps).
StepCallback = Callable[[int, int], None]


class ModelUnavailable(Exception):
    """The job names a model this worker cannot load; retrying elsewhere will not help."""


@dataclass(frozen=True)
class Placement:
    device: torch.device
    dtype: torch.dtype


def choose_placement(device: DeviceChoice = "auto", dtype: DtypeChoice = "auto") -> Placement:
    if device == "auto":
        if torch.cuda.is_available():
            device = "cuda"
        elif torch.backends.mps.is_available():
            device = "mps"
        else:
            device = "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("WORKER_DEVICE=cuda but CUDA is not available")
    if dtype != "auto":
        return Placement(torch.device(device), DTYPES[dtype])
    if device == "cuda":
        half = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return Placement(torch.device(device), half)
    return Placement(torch.device(device), torch.float32)


class _Pipelines(LRUCache[str, Any]):
    """cachetools' LRU cache, releasing the GPU memory of what it evicts."""

    def __init__(self, capacity: int, on_cuda: bool) -> None:
        super().__init__(maxsize=capacity)
        self.on_cuda = on_cuda

    def popitem(self) -> tuple[str, Any]:
        evicted = super().popitem()
        logger.info("pipeline evicted model=%s", evicted[0])
        if self.on_cuda:
            torch.cuda.empty_cache()
        return evicted


class PipelineCache:
    """At most ``capacity`` loaded pipelines, least recently used evicted first."""

    def __init__(self, models_dir: Path, placement: Placement, capacity: int = 2) -> None:
        if capacity < 1:
            raise ValueError("the pipeline cache holds at least one pipeline")
        self.models_dir = models_dir
        self.placement = placement
        self.capacity = capacity
        self._loaded = _Pipelines(capacity, on_cuda=placement.device.type == "cuda")
        self._lock = threading.Lock()

    @property
    def loaded(self) -> list[str]:
        return list(self._loaded)

    def get(self, model_id: str) -> Any:
        with self._lock:
            pipeline = self._loaded.get(model_id)
            if pipeline is None:
                pipeline = self._loaded[model_id] = self._load(model_id)
            return pipeline

    def _load(self, model_id: str) -> Any:
        # The id comes from a queue message: only a catalogue folder name may reach the disk.
        folder = self.models_dir / model_id
        if not MODEL_ID.match(model_id) or not (folder / MANIFEST).is_file():
            raise ModelUnavailable(f"model {model_id!r} is not installed on this worker")
        from diffusers import DiffusionPipeline

        try:
            pipeline = DiffusionPipeline.from_pretrained(
                folder, local_files_only=True, dtype=self.placement.dtype
            )
        except (OSError, ValueError) as error:
            raise ModelUnavailable(f"model {model_id!r} cannot be loaded: {error}") from error
        pipeline = pipeline.to(self.placement.device)
        pipeline.set_progress_bar_config(disable=True)
        logger.info(
            "pipeline loaded model=%s device=%s dtype=%s",
            model_id,
            self.placement.device,
            self.placement.dtype,
        )
        return pipeline


class InvalidRequest(ValueError):
    """The job asks for something no pipeline can render; retrying will not help."""


def check_request(params: GenerationParams) -> None:
    """Refuse what the pipeline would reject, before spending GPU time (diffusers style)."""
    if params.width % 8 or params.height % 8 or min(params.width, params.height) < 8:
        raise InvalidRequest("width and height must be positive multiples of 8")
    if params.steps < 1 or params.num_images < 1:
        raise InvalidRequest("steps and num_images must be positive")


@torch.no_grad()
def render(
    pipeline: Any, params: GenerationParams, on_step: StepCallback | None = None
) -> list[bytes]:
    """Run the pipeline (loaded for ``params.model``); one PNG per image. The same
    parameters give the same bytes on the same hardware: the noise comes from a CPU
    generator seeded with the job's seed."""
    check_request(params)
    generator = torch.Generator(device="cpu").manual_seed(params.seed)

    def step_end(_pipe: Any, step: int, _timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        if on_step is not None:
            on_step(step, params.steps)
        return tensors

    result = pipeline(
        prompt=params.prompt,
        negative_prompt=params.negative_prompt or None,
        width=params.width,
        height=params.height,
        num_inference_steps=params.steps,
        guidance_scale=params.guidance_scale,
        num_images_per_prompt=params.num_images,
        generator=generator,
        output_type="pil",
        callback_on_step_end=step_end,
    )
    return [encode_png(image) for image in result.images]


def encode_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
