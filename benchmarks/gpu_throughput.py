"""Images/s and $/1,000 images of the worker's settings against plain diffusers fp16, on
the GPU it runs on; prints rows for tools/cost/gpu_throughput.yaml.

    .venv/bin/python benchmarks/gpu_throughput.py [--model sd15|sdxl] [--batch 4]
        [--steps 30] [--size 512] [--runs 3] [--model-dir DIR] [--instance-type g5.xlarge]

Settings, each timed after its warm-up (compilation is reported apart):
  plain           diffusers out of the box: from_pretrained(torch_dtype=float16), one image
                  a call (the reference: ratio 1.00)
  fp16-sdpa       the worker's loading (fp16, SDPA attention on every layer) and render(),
                  PNG encoding included
  compile         the same with the worker's torch.compile of the UNet (bucketed size)
  batch N         fp16-sdpa, N jobs in one render_batch() call
  compile-batch N both
The model is the published architecture with random weights (benchmarks/sd_architectures.py;
no download: timings depend on shapes, not weights) unless --model-dir names a model
folder. $/1,000 images uses the instance's Spot price from the cost tool's price table
(tools/cost/aws-us-east-1.json), the only place prices are kept. Without a CUDA device the
script says so and exits 0 without timing anything.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from tools.cost.gpus import GPUS  # noqa: E402
from tools.cost.prices import load as load_prices  # noqa: E402

# The cost tool's GPU names, from the CUDA device name.
DEVICE_GPUS = {"T4": "T4", "A10G": "A10G", "L4": "L4", "L40S": "L40S"}
PROMPT = "a lighthouse on a cliff at dusk, oil painting"


@dataclass(frozen=True)
class Result:
    setting: str
    batch: int
    seconds_per_call: float
    first_call_seconds: float

    @property
    def images_per_second(self) -> float:
        return self.batch / self.seconds_per_call


def gpu_name(device_name: str) -> str | None:
    """``NVIDIA A10G`` -> ``A10G``; None for a GPU the cost tool does not price."""
    words = device_name.replace("-", " ").split()
    return next((DEVICE_GPUS[word] for word in words if word in DEVICE_GPUS), None)


def instance_for(gpu: str | None) -> str | None:
    """The smallest instance type the cost tool knows with this GPU (first in GPUS)."""
    return next((instance for instance, name in GPUS.items() if name == gpu), None)


def spot_price(instance_type: str | None) -> tuple[float, str] | None:
    """$/hour at Spot and the price's key, from the cost tool's price table."""
    if instance_type is None:
        return None
    price = load_prices().ec2_hour(instance_type, "spot")
    return price.price, f"{price.key} ({price.confidence})"


def per_thousand(images_per_second: float, dollars_per_hour: float) -> float:
    return dollars_per_hour / 3600 / images_per_second * 1000


def time_calls(call: Callable[[], Any], warmup: int, runs: int) -> tuple[float, float]:
    """(seconds of the first call, median seconds of ``runs`` calls after ``warmup``)."""
    torch.cuda.synchronize()
    started = time.perf_counter()
    call()
    torch.cuda.synchronize()
    first = time.perf_counter() - started
    for _ in range(max(warmup - 1, 0)):
        call()
    timings = []
    for _ in range(runs):
        torch.cuda.synchronize()
        started = time.perf_counter()
        call()
        torch.cuda.synchronize()
        timings.append(time.perf_counter() - started)
    return first, sorted(timings)[len(timings) // 2]


def time_plain(args: argparse.Namespace, folder: Path) -> Result:
    """Diffusers as its documentation loads it, one image a call: the reference."""
    from diffusers import DiffusionPipeline

    plain = DiffusionPipeline.from_pretrained(
        folder, torch_dtype=torch.float16, use_safetensors=True
    ).to("cuda")
    plain.set_progress_bar_config(disable=True)

    def call() -> Any:
        return plain(
            prompt=PROMPT, width=args.size, height=args.size, num_inference_steps=args.steps
        ).images

    first, median = time_calls(call, args.warmup, args.runs)
    return Result("plain", 1, median, first)


def time_worker(args: argparse.Namespace, folder: Path, compiled: bool) -> list[Result]:
    """The worker's loading and render_batch(), at batch 1 and ``args.batch``."""
    from app.core.generation import GenerationParams
    from app.worker.compilation import CompileOptions
    from app.worker.pipelines import PipelineCache, choose_placement, render_batch

    options = None
    if compiled:
        options = CompileOptions(
            frozenset({(args.size, args.size)}),
            max_batch=args.batch,
            mode=args.compile_mode,
            cache_dir=args.cache_dir,
        )
    pipeline = PipelineCache(folder.parent, choose_placement("cuda"), 1, options).get(folder.name)
    results = []
    for batch in sorted({1, args.batch}):
        jobs = [
            GenerationParams(
                folder.name, PROMPT, "", args.size, args.size, args.steps, 7.5, seed, 1
            )
            for seed in range(batch)
        ]
        first, median = time_calls(partial(render_batch, pipeline, jobs), args.warmup, args.runs)
        name = ("compile" if compiled else "fp16-sdpa") + (f"-batch{batch}" if batch > 1 else "")
        results.append(Result(name, batch, median, first))
        print(f"  timed {name}: {median:.3f} s a call", flush=True)
    return results


def run_settings(args: argparse.Namespace, folder: Path) -> list[Result]:
    results = [time_plain(args, folder)]
    torch.cuda.empty_cache()
    for compiled in (False, True):
        results += time_worker(args, folder, compiled)
        torch.cuda.empty_cache()
    return results


def report(args: argparse.Namespace, results: list[Result], device_name: str) -> None:
    gpu = args.gpu or gpu_name(device_name)
    instance = args.instance_type or instance_for(gpu)
    price = spot_price(instance)
    reference = results[0].images_per_second
    print(
        f"\n{device_name} ({gpu or 'not in the cost tool'}), {args.model} "
        f"{args.size}x{args.size}, {args.steps} steps; torch {torch.__version__}; "
        f"median of {args.runs} after {args.warmup} warm-up call(s)"
    )
    if price is None:
        print("no instance type with this GPU in the price table: $ columns left empty")
    else:
        print(f"price: {instance} Spot ${price[0]:.4f}/hour ({price[1]})")
    columns = ("images/s", "s/image", "$/1k img", "vs plain")
    print(f"{'setting':<18}" + "".join(f"{c:>10}" for c in columns) + f"{'1st call s':>12}")
    for result in results:
        dollars = (
            f"{per_thousand(result.images_per_second, price[0]):10.4f}" if price else f"{'':>10}"
        )
        print(
            f"{result.setting:<18}{result.images_per_second:10.3f}"
            f"{1 / result.images_per_second:10.3f}{dollars}"
            f"{result.images_per_second / reference:10.2f}{result.first_call_seconds:12.1f}"
        )
    if gpu is None:
        return
    print(
        "\nrows for tools/cost/gpu_throughput.yaml (iterationsPerSecond: images/s x steps / batch)"
    )
    when = datetime.now(UTC).date().isoformat()
    command = " ".join(["benchmarks/gpu_throughput.py", *sys.argv[1:]])
    for result in results:
        setting = result.setting.split("-batch")[0]
        if setting == "plain":
            continue
        rate = result.images_per_second * args.steps / result.batch
        print(
            f"  - {{gpu: {gpu}, model: {args.model}, size: {args.size}, setting: {setting}, "
            f'batch: {result.batch}, iterationsPerSecond: {rate:.3f}, source: "measured '
            f"{when} on {device_name} with {command} (torch {torch.__version__}, "
            f'{args.model} architecture{"" if args.model_dir else ", random weights"})"}}'
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=("sd15", "sdxl"), default="sd15")
    parser.add_argument("--size", type=int, help="width and height (default: the model's)")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=4, help="jobs per call of the batch settings")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--compile-mode", default="reduce-overhead")
    parser.add_argument("--cache-dir", type=Path, help="inductor's cache (default: a temp dir)")
    parser.add_argument("--model-dir", type=Path, help="a model folder (save_pretrained layout)")
    parser.add_argument("--gpu", choices=sorted(DEVICE_GPUS), help="override the detected GPU")
    parser.add_argument("--instance-type", choices=sorted(GPUS), help="price this instance")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print(
            "gpu_throughput: no CUDA device here; nothing was timed (run it on a GPU "
            "machine: .venv/bin/python benchmarks/gpu_throughput.py)"
        )
        return 0
    from benchmarks.sd_architectures import NATIVE_SIZE, build

    args.size = args.size or NATIVE_SIZE[args.model]
    args.cache_dir = args.cache_dir or Path(tempfile.mkdtemp(prefix="pingvas-inductor-"))
    warnings.filterwarnings("ignore", message="invalid value encountered in cast")
    if args.model_dir is None:
        print(f"building the {args.model} architecture with random weights ...", flush=True)
        folder = build(Path(tempfile.mkdtemp(prefix="pingvas-bench-")), args.model)
    else:
        folder = args.model_dir.resolve()
    device_name = torch.cuda.get_device_name(0)
    report(args, run_settings(args, folder), device_name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
