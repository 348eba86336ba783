"""benchmarks/gpu_throughput.py away from a GPU: it says so and times nothing; its
prices come from the cost tool's table and its rows parse as gpu_throughput.yaml rows."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest
import yaml

from benchmarks import gpu_throughput as bench
from tests.support.worker import ROOT
from tools.cost.prices import load as load_prices


def test_without_cuda_it_skips_with_a_message_and_exits_0():
    done = subprocess.run(
        [sys.executable, "benchmarks/gpu_throughput.py", "--model", "sdxl"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "CUDA_VISIBLE_DEVICES": ""},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "no CUDA device here; nothing was timed" in done.stdout


def test_the_gpu_and_its_spot_price_come_from_the_cost_tool():
    assert bench.gpu_name("NVIDIA A10G") == "A10G"
    assert bench.gpu_name("Tesla T4") == "T4"
    assert bench.gpu_name("NVIDIA L40S") == "L40S"
    assert bench.gpu_name("NVIDIA H100 80GB HBM3") is None  # no such instance in the table
    assert bench.instance_for("T4") == "g4dn.xlarge"
    assert bench.instance_for(None) is None
    price, key = bench.spot_price("g5.xlarge") or (0.0, "")
    assert price == load_prices().ec2_hour("g5.xlarge", "spot").price
    assert key.startswith("ec2/g5.xlarge/spot")
    # 1 image/s at $3.60/hour is $1 per 1,000 images.
    assert bench.per_thousand(1.0, 3.6) == pytest.approx(1.0)


def test_the_printed_rows_are_throughput_table_rows(capsys):
    args = argparse.Namespace(
        gpu=None,
        instance_type=None,
        model="sd15",
        size=512,
        steps=30,
        runs=3,
        warmup=2,
        model_dir=None,
    )
    results = [
        bench.Result("plain", 1, 4.0, 9.0),
        bench.Result("fp16-sdpa", 1, 3.0, 5.0),
        bench.Result("compile-batch4", 4, 8.0, 120.0),
    ]
    bench.report(args, results, "NVIDIA A10G")
    out = capsys.readouterr().out
    price = load_prices().ec2_hour("g5.xlarge", "spot").price
    assert f"g5.xlarge Spot ${price:.4f}/hour" in out
    assert "compile-batch4         0.500     2.000" in out
    rows = yaml.safe_load("\n".join(line for line in out.splitlines() if line.startswith("  - ")))
    assert [(r["gpu"], r["setting"], r["batch"]) for r in rows] == [
        ("A10G", "fp16-sdpa", 1),
        ("A10G", "compile", 4),
    ]
    # iterationsPerSecond x batch / steps gives back images/s.
    assert rows[1]["iterationsPerSecond"] * 4 / 30 == pytest.approx(0.5, rel=1e-3)
    assert "random weights" in rows[0]["source"]
