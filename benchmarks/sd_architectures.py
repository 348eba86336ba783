"""Stable Diffusion 1.5 and SDXL pipelines with their published architectures and random
weights, built from configs: no download, so a lent GPU machine without internet can time
them. Throughput depends on the shapes (layers, channels, attention heads, resolution),
not on the weights' values; a real model folder gives the same timings (pass it with
``--model-dir``).

The configs are those of the models' ``config.json`` files:
runwayml/stable-diffusion-v1-5 (unet, vae, text_encoder) and
stabilityai/stable-diffusion-xl-base-1.0 (unet, vae, text_encoder, text_encoder_2).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from app.catalogue import MANIFEST
from app.worker.tiny_model import END_OF_TEXT, MAX_TOKENS, START_OF_TEXT, write_tokenizer

MODELS = ("sd15", "sdxl")
NATIVE_SIZE = {"sd15": 512, "sdxl": 1024}


def _text_encoder_config(vocabulary: dict[str, int], **shape: Any) -> Any:
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        vocab_size=len(vocabulary),
        max_position_embeddings=MAX_TOKENS,
        bos_token_id=vocabulary[START_OF_TEXT],
        eos_token_id=vocabulary[END_OF_TEXT],
        pad_token_id=vocabulary[END_OF_TEXT],
        **shape,
    )


def _clip_vit_l(vocabulary: dict[str, int]) -> Any:
    """CLIP ViT-L/14's text encoder: SD1.5's only one and SDXL's first."""
    from transformers import CLIPTextModel

    return CLIPTextModel(
        _text_encoder_config(
            vocabulary,
            hidden_size=768,
            intermediate_size=3072,
            num_hidden_layers=12,
            num_attention_heads=12,
            hidden_act="quick_gelu",
            projection_dim=768,
        )
    )


def _vae(sample_size: int, scaling_factor: float, force_upcast: bool) -> Any:
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(128, 256, 512, 512),
        layers_per_block=2,
        latent_channels=4,
        norm_num_groups=32,
        sample_size=sample_size,
        scaling_factor=scaling_factor,
        force_upcast=force_upcast,
    )


def _scheduler() -> Any:
    from diffusers import EulerDiscreteScheduler

    return EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1
    )


def _sd15(tokenizer: Any, vocabulary: dict[str, int]) -> Any:
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel

    unet = UNet2DConditionModel(
        sample_size=64,
        in_channels=4,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
        block_out_channels=(320, 640, 1280, 1280),
        layers_per_block=2,
        cross_attention_dim=768,
        attention_head_dim=8,
    )
    text_encoder = _clip_vit_l(vocabulary)
    return StableDiffusionPipeline(
        vae=_vae(512, 0.18215, force_upcast=False),
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=_scheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def _sdxl(tokenizer: Any, vocabulary: dict[str, int]) -> Any:
    from diffusers import StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextModelWithProjection

    unet = UNet2DConditionModel(
        sample_size=128,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        block_out_channels=(320, 640, 1280),
        layers_per_block=2,
        cross_attention_dim=2048,
        transformer_layers_per_block=(1, 2, 10),
        attention_head_dim=(5, 10, 20),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=256,
        projection_class_embeddings_input_dim=2816,
    )
    text_encoder = _clip_vit_l(vocabulary)
    text_encoder_2 = CLIPTextModelWithProjection(
        _text_encoder_config(
            vocabulary,
            hidden_size=1280,
            intermediate_size=5120,
            num_hidden_layers=32,
            num_attention_heads=20,
            hidden_act="gelu",
            projection_dim=1280,
        )
    )
    return StableDiffusionXLPipeline(
        vae=_vae(1024, 0.13025, force_upcast=True),
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        unet=unet,
        scheduler=_scheduler(),
    )


def build(models_dir: Path, model: str) -> Path:
    """Write ``models_dir/<model>-arch`` (safetensors, fp16, the catalogue's manifest) and
    return it; an existing folder is kept (building SDXL takes minutes on a CPU)."""
    from transformers import CLIPTokenizer

    if model not in MODELS:
        raise ValueError(f"model is one of {MODELS}, not {model!r}")
    target = models_dir / f"{model}-arch"
    if (target / MANIFEST).is_file():
        return target
    vocabulary = write_tokenizer(models_dir / ".tokenizer-source")
    tokenizer = CLIPTokenizer.from_pretrained(models_dir / ".tokenizer-source")
    tokenizer.model_max_length = MAX_TOKENS
    torch.manual_seed(0)
    # Initialising SDXL's 3.5 B weights takes minutes on a CPU, seconds on the GPU.
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        pipeline = (_sd15 if model == "sd15" else _sdxl)(tokenizer, vocabulary)
    pipeline.to(torch.float16)
    pipeline.save_pretrained(target, safe_serialization=True)
    size = NATIVE_SIZE[model]
    manifest = {
        "name": f"{model} architecture (random weights)",
        "kind": "stable-diffusion",
        "default_width": size,
        "default_height": size,
        "default_steps": 30,
        "description": "For throughput benchmarks only: its images are noise.",
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return target
