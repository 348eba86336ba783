"""``torch.compile`` of a pipeline's UNet for a small set of resolutions, with inductor's
compiled kernels kept on a persisted path.

A compiled graph is specialised to its input shapes (``dynamic=False``: static shapes are
what makes the kernels fast, and CUDA graphs need them). A worker serving any size would
recompile for every new one and soon hit dynamo's recompile limit, so only the
resolutions in ``sizes`` (the buckets) take the compiled UNet; any other size runs the
same module eagerly, with no compilation. The batch dimension (images per call, doubled by
classifier-free guidance) is the other shape that varies: the recompile limit is raised
to cover every bucket at every batch size up to ``max_batch``.

Inductor caches what it compiled (FX graph cache) under ``TORCHINDUCTOR_CACHE_DIR``; on
a persisted directory (the chart's compile-cache volume) a worker started from zero
loads the kernels instead of compiling them again.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

logger = logging.getLogger(__name__)
CompileMode = Literal["default", "reduce-overhead", "max-autotune"]


@dataclass(frozen=True)
class CompileOptions:
    # (width, height) pairs rendered by the compiled UNet.
    sizes: frozenset[tuple[int, int]]
    max_batch: int = 1
    mode: CompileMode = "reduce-overhead"
    cache_dir: Path | None = None

    def __post_init__(self) -> None:
        if not self.sizes:
            raise ValueError("compiling needs at least one bucket size")
        if self.max_batch < 1:
            raise ValueError("max_batch must be at least 1")


def parse_sizes(text: str) -> frozenset[tuple[int, int]]:
    """``"512x512,768x768"`` -> {(512, 512), (768, 768)}; sizes are multiples of 8."""
    sizes = set()
    for item in text.split(","):
        width, separator, height = item.strip().lower().partition("x")
        if not separator or not width.isdigit() or not height.isdigit():
            raise ValueError(f"a bucket size is WIDTHxHEIGHT, not {item.strip()!r}")
        size = (int(width), int(height))
        if min(size) < 8 or size[0] % 8 or size[1] % 8:
            raise ValueError(f"bucket size {item.strip()!r} is not a positive multiple of 8")
        sizes.add(size)
    return frozenset(sizes)


def configure_cache(cache_dir: Path) -> None:
    """Point inductor's on-disk caches at ``cache_dir`` (created if missing). Inductor
    reads the directory from the environment whenever it looks a kernel up."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(cache_dir)
    os.environ["TORCHINDUCTOR_FX_GRAPH_CACHE"] = "1"
    import torch._inductor.config as inductor_config

    inductor_config.fx_graph_cache = True


def graphs_needed(options: CompileOptions) -> int:
    """Distinct UNet input shapes: each bucket at each batch size, with and without
    classifier-free guidance (which doubles the batch)."""
    return len(options.sizes) * options.max_batch * 2


def compile_unet(unet: torch.nn.Module, vae_scale_factor: int, options: CompileOptions) -> None:
    """Route the UNet's forward through ``torch.compile`` for bucketed sizes, in place:
    the module keeps its attributes (``config``, ``dtype``) that pipelines read."""
    if options.cache_dir is not None:
        configure_cache(options.cache_dir)
    import torch._dynamo.config as dynamo_config

    dynamo_config.recompile_limit = max(dynamo_config.recompile_limit, graphs_needed(options))
    latent_sizes = {
        (height // vae_scale_factor, width // vae_scale_factor) for width, height in options.sizes
    }
    eager: Callable[..., Any] = unet.forward
    compiled = torch.compile(eager, mode=options.mode, dynamic=False)

    def forward(sample: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        if tuple(sample.shape[-2:]) in latent_sizes:
            return compiled(sample, *args, **kwargs)
        return eager(sample, *args, **kwargs)

    # An instance attribute: nn.Module.__call__ looks ``forward`` up on the instance.
    unet.forward = forward
    logger.info(
        "unet compiled mode=%s sizes=%s cache=%s",
        options.mode,
        sorted(options.sizes),
        options.cache_dir,
    )
