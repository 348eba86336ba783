"""Model loading (device, dtype, bounded cache), the tiny model builder, and the tier
schedule against real Redis streams."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from datetime import UTC, datetime

import pytest
import torch

from app.catalogue import ModelCatalogue
from app.core.generation import GenerationParams
from app.core.queue import JobMessage
from app.worker.pipelines import (
    InvalidRequest,
    ModelUnavailable,
    PipelineCache,
    choose_placement,
    render,
)
from app.worker.scheduling import TierSchedule
from app.worker.tiny_model import TINY_MODEL_ID
from tests.support.worker import WEIGHTS


def test_cpu_placement_is_float32_and_an_explicit_dtype_wins():
    assert choose_placement("cpu").device.type == "cpu"
    assert choose_placement("cpu").dtype == torch.float32
    assert choose_placement("cpu", "bfloat16").dtype == torch.bfloat16
    if not torch.cuda.is_available():
        assert choose_placement("auto").device.type in ("cpu", "mps")
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            choose_placement("cuda")


def test_the_built_model_is_in_the_catalogue_and_loads_like_a_real_one(tiny_models_dir, pipelines):
    [model] = ModelCatalogue(tiny_models_dir).all()
    assert (model.id, model.kind, model.default_width) == (TINY_MODEL_ID, "stable-diffusion", 64)
    index = json.loads((tiny_models_dir / TINY_MODEL_ID / "model_index.json").read_text())
    assert index["_class_name"] == "StableDiffusionPipeline"
    pipeline = pipelines.get(TINY_MODEL_ID)
    assert pipeline is pipelines.get(TINY_MODEL_ID)  # cached
    assert pipeline.unet.dtype == torch.float32
    # A long prompt is truncated by the tokenizer, not an index error in the encoder.
    [png] = render(
        pipeline,
        GenerationParams(TINY_MODEL_ID, "word " * 200, "blurry", 64, 64, 1, 5.0, 3, 1),
    )
    assert png.startswith(b"\x89PNG")
    with pytest.raises(InvalidRequest):
        render(pipeline, GenerationParams(TINY_MODEL_ID, "x", "", 60, 64, 1, 5.0, 3, 1))


def test_the_pipeline_cache_is_bounded_least_recently_used_first(tiny_models_dir, tmp_path):
    for name in ("model-a", "model-b"):
        shutil.copytree(tiny_models_dir / TINY_MODEL_ID, tmp_path / name)
    cache = PipelineCache(tmp_path, choose_placement("cpu"), capacity=1)
    first = cache.get("model-a")
    assert cache.loaded == ["model-a"]
    cache.get("model-b")
    assert cache.loaded == ["model-b"]
    assert cache.get("model-a") is not first  # evicted, loaded again
    for missing in ("nope", "../model-a", "Model-A"):
        with pytest.raises(ModelUnavailable):
            cache.get(missing)


def test_the_builder_runs_as_a_module_and_keeps_an_existing_model(tiny_models_dir, tmp_path):
    shutil.copytree(tiny_models_dir / TINY_MODEL_ID, tmp_path / TINY_MODEL_ID)
    done = subprocess.run(
        [sys.executable, "-m", "app.worker.tiny_model", str(tmp_path), "--if-missing"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "exists" in done.stdout


def message(tier: str) -> JobMessage:
    return JobMessage(
        job_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        tier=tier,
        params=GenerationParams(
            model=TINY_MODEL_ID,
            prompt="p",
            negative_prompt="",
            width=64,
            height=64,
            steps=2,
            guidance_scale=7.5,
            seed=1,
            num_images=1,
        ),
        cost=1,
        enqueued_at=datetime.now(UTC),
    )


def test_the_schedule_prefers_higher_tiers_in_proportion():
    schedule = TierSchedule(WEIGHTS)
    firsts = [schedule.next_order()[0] for _ in range(14)]
    assert Counter(firsts) == {"pro": 8, "basic": 4, "free": 2}
    assert firsts[:7] == ["pro", "basic", "pro", "free", "pro", "basic", "pro"]
    with pytest.raises(ValueError, match="at least 1"):
        TierSchedule({"pro": 1, "basic": 1, "free": 0})


def test_a_backlog_of_pro_jobs_does_not_starve_free_ones(lane):
    for tier in ("free", "basic", "pro"):
        for _ in range(20):
            lane.queue.enqueue(message(tier))
    schedule = TierSchedule(WEIGHTS)
    served = [lane.queue.read("w", order=schedule.next_order())[0].message.tier for _ in range(14)]
    assert Counter(served) == {"pro": 8, "basic": 4, "free": 2}
    # With pro empty its turns go to the next tier down, not to waiting.
    lane.redis.delete(lane.queue.stream("pro"))
    lane.queue.ensure_groups()
    served = [lane.queue.read("w", order=schedule.next_order())[0].message.tier for _ in range(7)]
    assert Counter(served) == {"basic": 6, "free": 1}
