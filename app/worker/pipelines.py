"""Loading diffusers pipelines from ``MODELS_DIR`` and rendering jobs with them, one or
several in one pipeline call.

Device and dtype: CUDA in float16 with PyTorch 2's scaled-dot-product attention
(``AttnProcessor2_0``): the setting the throughput table (tools/cost/gpu_throughput.yaml)
prices; CPU (and Apple's MPS) in float32. Loading is ``local_files_only`` and
``use_safetensors``: the worker never downloads anything, and never unpickles a ``.bin``
checkpoint (pickle runs code) from the shared model store.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from cachetools import LRUCache
from PIL import Image

from app.catalogue import MANIFEST, MODEL_ID
from app.core.generation import GenerationParams
from app.worker.compilation import CompileOptions, compile_unet

if TYPE_CHECKING:  # settings (pydantic) are not needed to render: benchmarks import this
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
        return Placement(torch.device(device), torch.float16)
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

    def __init__(
        self,
        models_dir: Path,
        placement: Placement,
        capacity: int = 2,
        compile_options: CompileOptions | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError("the pipeline cache holds at least one pipeline")
        self.models_dir = models_dir
        self.placement = placement
        self.capacity = capacity
        self.compile_options = compile_options
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
                folder, local_files_only=True, use_safetensors=True, dtype=self.placement.dtype
            )
        except (OSError, ValueError) as error:
            raise ModelUnavailable(f"model {model_id!r} cannot be loaded: {error}") from error
        pipeline = pipeline.to(self.placement.device)
        pipeline.set_progress_bar_config(disable=True)
        use_sdpa(pipeline)
        if self.compile_options is not None and hasattr(pipeline, "unet"):
            compile_unet(pipeline.unet, pipeline.vae_scale_factor, self.compile_options)
        logger.info(
            "pipeline loaded model=%s device=%s dtype=%s compiled=%s",
            model_id,
            self.placement.device,
            self.placement.dtype,
            self.compile_options is not None,
        )
        return pipeline


def use_sdpa(pipeline: Any) -> None:
    """Every attention layer of the UNet and the VAE on ``scaled_dot_product_attention``
    (flash or memory-efficient kernels on CUDA): diffusers' default under PyTorch 2, made
    explicit so that a model folder's saved processor cannot silently opt out."""
    from diffusers.models.attention_processor import AttnProcessor2_0

    for name in ("unet", "vae"):
        module = getattr(pipeline, name, None)
        if module is not None and hasattr(module, "set_attn_processor"):
            module.set_attn_processor(AttnProcessor2_0())


class InvalidRequest(ValueError):
    """The job asks for something no pipeline can render; retrying will not help."""


def check_request(params: GenerationParams) -> None:
    """Refuse what the pipeline would reject, before spending GPU time (diffusers style)."""
    if params.width % 8 or params.height % 8 or min(params.width, params.height) < 8:
        raise InvalidRequest("width and height must be positive multiples of 8")
    if params.steps < 1 or params.num_images < 1:
        raise InvalidRequest("steps and num_images must be positive")


def batch_key(params: GenerationParams) -> tuple[object, ...]:
    """What must be equal for jobs to share one pipeline call: the pipeline, the latents'
    shape (and with it the compiled graph), the number of denoising steps, the guidance
    scale (one value per call; it also decides classifier-free guidance), and whether
    there is a negative prompt (SDXL conditions on zeros when none is given at all, on
    the encoded empty prompt when one job of a list has none)."""
    return (
        params.model,
        params.width,
        params.height,
        params.steps,
        params.guidance_scale,
        bool(params.negative_prompt),
    )


def render(
    pipeline: Any, params: GenerationParams, on_step: StepCallback | None = None
) -> list[bytes]:
    """One job: :func:`render_batch` of one."""
    return render_batch(pipeline, [params], on_step)[0]


@torch.no_grad()
def render_batch(
    pipeline: Any, jobs: Sequence[GenerationParams], on_step: StepCallback | None = None
) -> list[list[bytes]]:
    """Render jobs of one :func:`batch_key` in one pipeline call; one list of PNGs per job.

    Each image has its own prompt, negative prompt and generator: a job's images draw
    their noise, in order, from one CPU generator seeded with the job's seed, so a job's
    noise is the same alone or beside others (the pixels agree to rounding: a batched
    matrix product may sum in another order)."""
    if not jobs:
        return []
    keys = {batch_key(params) for params in jobs}
    if len(keys) != 1:
        raise ValueError(f"jobs of different batch keys in one call: {sorted(map(str, keys))}")
    for params in jobs:
        check_request(params)
    first = jobs[0]
    prompts: list[str] = []
    negatives: list[str] = []
    generators: list[torch.Generator] = []
    for params in jobs:
        generator = torch.Generator(device="cpu").manual_seed(params.seed)
        prompts += [params.prompt] * params.num_images
        negatives += [params.negative_prompt] * params.num_images
        generators += [generator] * params.num_images

    def step_end(_pipe: Any, step: int, _timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        if on_step is not None:
            on_step(step, first.steps)
        return tensors

    result = pipeline(
        prompt=prompts,
        # None, not [""]: what the pipeline gets for a job without one, batched or not.
        negative_prompt=negatives if first.negative_prompt else None,
        width=first.width,
        height=first.height,
        num_inference_steps=first.steps,
        guidance_scale=first.guidance_scale,
        num_images_per_prompt=1,
        generator=generators,
        output_type="pil",
        callback_on_step_end=step_end,
    )
    pngs = [encode_png(image) for image in result.images]
    rendered: list[list[bytes]] = []
    for params in jobs:
        rendered.append(pngs[: params.num_images])
        pngs = pngs[params.num_images :]
    return rendered


def encode_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
