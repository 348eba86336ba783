"""A tiny Stable Diffusion pipeline with random weights, built from configs (no download).

    python -m app.worker.tiny_model DIR [--model-id tiny-sd]

writes ``DIR/<model-id>/`` with the pipeline (``save_pretrained`` layout, ~7 MB) and its
``manifest.json``, so the worker loads it exactly like a real model from ``MODELS_DIR``.
The weights are seeded: building twice gives the same pipeline. The images are noise, but
every stage (tokenizer, text encoder, UNet, scheduler, VAE) runs the real code.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, cast

from app.catalogue import MANIFEST, MODEL_ID

TINY_MODEL_ID = "tiny-sd"
TINY_MANIFEST = {
    "name": "Tiny SD (random weights)",
    "kind": "stable-diffusion",
    "default_width": 64,
    "default_height": 64,
    "default_steps": 2,
    "description": "A Stable Diffusion pipeline shaped like the real one, for tests and "
    "local runs; its images are noise.",
}
START_OF_TEXT = "<|startoftext|>"
END_OF_TEXT = "<|endoftext|>"
MAX_TOKENS = 77


def _byte_symbols() -> list[str]:
    """CLIP's byte-to-unicode table: one printable symbol per byte value."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    symbols = {byte: chr(byte) for byte in printable}
    extra = 0
    for byte in range(256):
        if byte not in symbols:
            symbols[byte] = chr(256 + extra)
            extra += 1
    return [symbols[byte] for byte in range(256)]


def write_tokenizer(directory: Path) -> dict[str, int]:
    """A byte-level CLIP tokenizer (no merges); returns its vocabulary."""
    symbols = _byte_symbols()
    vocabulary = {symbol: index for index, symbol in enumerate(symbols)}
    vocabulary.update({f"{symbol}</w>": 256 + index for index, symbol in enumerate(symbols)})
    vocabulary[START_OF_TEXT] = len(vocabulary)
    vocabulary[END_OF_TEXT] = len(vocabulary)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.json").write_text(json.dumps(vocabulary, ensure_ascii=False))
    (directory / "merges.txt").write_text("#version: 0.2\n")
    return vocabulary


def build(models_dir: Path, model_id: str = TINY_MODEL_ID) -> Path:
    """Build the pipeline and its manifest under ``models_dir/model_id``; returns the folder."""
    # Heavy imports here: the catalogue and the API never need them.
    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    if not MODEL_ID.match(model_id):
        raise ValueError(f"invalid model id {model_id!r}")
    target = models_dir / model_id
    staging = models_dir / f".{model_id}.building"
    vocabulary = write_tokenizer(staging / "tokenizer-source")
    # The trap in transformers 5: CLIPTokenizer(vocab_file=...) silently ignores the file;
    # from_pretrained on the folder reads it.
    tokenizer = CLIPTokenizer.from_pretrained(staging / "tokenizer-source")
    tokenizer.model_max_length = MAX_TOKENS

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=32,
    )
    vae = AutoencoderKL(
        block_out_channels=(32, 64),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=32,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(vocabulary),
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=MAX_TOKENS,
            layer_norm_eps=1e-5,
            bos_token_id=vocabulary[START_OF_TEXT],
            eos_token_id=vocabulary[END_OF_TEXT],
            pad_token_id=tokenizer.pad_token_id
            if tokenizer.pad_token_id is not None
            else vocabulary[END_OF_TEXT],
        )
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    pipeline = StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    cast(Any, pipeline).save_pretrained(staging)
    _remove_tree(staging / "tokenizer-source")
    (staging / MANIFEST).write_text(json.dumps(TINY_MANIFEST, indent=2) + "\n")
    # The manifest makes the folder visible to the catalogue: publish it all at once.
    if target.exists():
        _remove_tree(target)
    staging.rename(target)
    return target


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models_dir", type=Path, help="MODELS_DIR to build the model into")
    parser.add_argument("--model-id", default=TINY_MODEL_ID)
    parser.add_argument("--if-missing", action="store_true", help="keep an existing model")
    args = parser.parse_args(argv)
    target = args.models_dir / args.model_id
    if args.if_missing and (target / MANIFEST).is_file():
        print(f"{target} exists")
        return
    args.models_dir.mkdir(parents=True, exist_ok=True)
    print(build(args.models_dir, args.model_id))


if __name__ == "__main__":
    main()
