"""What the worker's throughput rests on: fp16 on CUDA, SDPA attention, safetensors-only
loading, torch.compile for bucketed sizes only, and inductor's cache on a persisted
directory that a fresh process reuses."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from typing import Any

import pytest
import torch
from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0
from pydantic import ValidationError
from safetensors.torch import load_file

from app.core.generation import GenerationParams
from app.worker import compilation
from app.worker.compilation import CompileOptions, parse_sizes
from app.worker.config import WorkerSettings
from app.worker.pipelines import (
    ModelUnavailable,
    PipelineCache,
    choose_placement,
    render,
    use_sdpa,
)
from app.worker.tiny_model import TINY_MODEL_ID
from tests.support.worker import ROOT


def test_cuda_renders_in_float16_whatever_bfloat16_support(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *_: True)
    assert choose_placement("auto").dtype == torch.float16
    assert choose_placement("cuda").dtype == torch.float16
    assert choose_placement("cpu").dtype == torch.float32


def test_every_attention_layer_runs_scaled_dot_product_attention(tiny_models_dir):
    pipeline = PipelineCache(tiny_models_dir, choose_placement("cpu")).get(TINY_MODEL_ID)
    for module in (pipeline.unet, pipeline.vae):
        processors = module.attn_processors.values()
        assert processors
        assert all(isinstance(p, AttnProcessor2_0) for p in processors)
    # A model whose saved processor opts out is brought back to SDPA.
    pipeline.unet.set_attn_processor(AttnProcessor())
    assert not any(isinstance(p, AttnProcessor2_0) for p in pipeline.unet.attn_processors.values())
    use_sdpa(pipeline)
    assert all(isinstance(p, AttnProcessor2_0) for p in pipeline.unet.attn_processors.values())


def test_a_model_with_pickled_weights_only_is_refused(tiny_models_dir, tmp_path):
    """``use_safetensors=True``: a ``.bin`` checkpoint (unpickling runs code) never loads."""
    shutil.copytree(tiny_models_dir / TINY_MODEL_ID, tmp_path / "pickled")
    shutil.copytree(tiny_models_dir / TINY_MODEL_ID, tmp_path / "control")
    unet = tmp_path / "pickled" / "unet"
    [weights] = unet.glob("*.safetensors")
    torch.save(load_file(weights), unet / "diffusion_pytorch_model.bin")
    weights.unlink()
    cache = PipelineCache(tmp_path, choose_placement("cpu"))
    with pytest.raises(ModelUnavailable, match="cannot be loaded"):
        cache.get("pickled")
    assert cache.get("control") is not None


def test_only_bucketed_sizes_take_the_compiled_unet(tiny_models_dir, monkeypatch, tmp_path):
    compiled_shapes: list[tuple[int, ...]] = []

    def fake_compile(function: Any, **options: Any) -> Any:
        assert options == {"mode": "default", "dynamic": False}

        def run(sample: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
            compiled_shapes.append(tuple(sample.shape))
            return function(sample, *args, **kwargs)

        return run

    monkeypatch.setattr(torch, "compile", fake_compile)
    options = CompileOptions(
        frozenset({(64, 64)}), max_batch=3, mode="default", cache_dir=tmp_path / "cache"
    )
    pipeline = PipelineCache(tiny_models_dir, choose_placement("cpu"), 1, options).get(
        TINY_MODEL_ID
    )
    eager = PipelineCache(tiny_models_dir, choose_placement("cpu"), 1).get(TINY_MODEL_ID)
    bucketed = GenerationParams(TINY_MODEL_ID, "a fox", "", 64, 64, 2, 7.5, 5, 1)
    other = GenerationParams(TINY_MODEL_ID, "a fox", "", 48, 64, 2, 7.5, 5, 1)

    assert render(pipeline, bucketed) == render(eager, bucketed)
    # Two steps, the batch doubled by classifier-free guidance, latents at 1/2 (tiny VAE).
    assert compiled_shapes == [(2, 4, 32, 32)] * 2
    assert render(pipeline, other) == render(eager, other)
    assert len(compiled_shapes) == 2  # the unbucketed size ran eagerly
    # Room for every bucket at every batch size, with and without guidance.
    assert torch._dynamo.config.recompile_limit >= 1 * 3 * 2
    assert (tmp_path / "cache").is_dir()


def test_bucket_sizes_and_the_compile_settings_come_from_the_environment(monkeypatch, tmp_path):
    assert parse_sizes(" 512x512, 768X1024 ") == {(512, 512), (768, 1024)}
    for bad in ("512", "512x", "513x512", "0x0", "512x512,axb"):
        with pytest.raises(ValueError, match="bucket size"):
            parse_sizes(bad)
    monkeypatch.setenv("DATABASE_URL", "postgresql://worker@db/pingvas")
    assert WorkerSettings().compile_options() is None  # off unless asked for
    monkeypatch.setenv("WORKER_COMPILE", "true")
    monkeypatch.setenv("WORKER_COMPILE_SIZES", "512x512,1024x1024")
    monkeypatch.setenv("WORKER_COMPILE_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("WORKER_BATCH_SIZE", "4")
    assert WorkerSettings().compile_options() == CompileOptions(
        frozenset({(512, 512), (1024, 1024)}), 4, "reduce-overhead", tmp_path
    )
    monkeypatch.setenv("WORKER_COMPILE_SIZES", "500x500")
    with pytest.raises(ValidationError, match="multiple of 8"):
        WorkerSettings()


# A UNet-shaped module (conv, attention-free) compiled the way the worker compiles one,
# in a fresh process; prints inductor's FX graph cache hits and misses.
COMPILE_ONCE = """
import json, sys, torch
from pathlib import Path
from torch._dynamo.utils import counters
from app.worker.compilation import CompileOptions, compile_unet
torch.manual_seed(0)
unet = torch.nn.Sequential(torch.nn.Conv2d(4, 8, 3, padding=1), torch.nn.SiLU(),
                           torch.nn.Conv2d(8, 4, 3, padding=1))
options = CompileOptions(frozenset({(64, 64)}), mode="default", cache_dir=Path(sys.argv[1]))
compile_unet(unet, 8, options)
with torch.no_grad():
    unet(torch.randn(2, 4, 8, 8))
print(json.dumps({k: v for k, v in counters["inductor"].items() if k.startswith("fxgraph")}))
"""


def test_a_fresh_process_loads_the_compiled_graph_from_the_persisted_cache(tmp_path):
    cache = tmp_path / "compile-cache"

    def run() -> dict[str, int]:
        done = subprocess.run(
            [sys.executable, "-c", COMPILE_ONCE, str(cache)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1", "HOME": str(tmp_path)},
        )
        assert done.returncode == 0, done.stderr[-2000:]
        result: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
        return result

    first = run()
    assert first.get("fxgraph_cache_miss") == 1
    assert not first.get("fxgraph_cache_hit")
    assert any(cache.rglob("*")), "nothing was written to the cache directory"
    # Scale-from-zero: a new process on the same (persisted) directory compiles nothing.
    second = run()
    assert second.get("fxgraph_cache_hit") == 1
    assert not second.get("fxgraph_cache_miss")
    # Control: an empty directory (a pod without the volume) compiles again.
    shutil.rmtree(cache)
    assert run().get("fxgraph_cache_miss") == 1
    assert compilation.graphs_needed(CompileOptions(frozenset({(8, 8), (16, 16)}), 4)) == 16
