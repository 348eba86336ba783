"""`--timing`'s app release rollout (tools/rollout.py): every figure sourced, nothing left
unknown, and the printed total the sum of rollout.yaml's figures and the chart's probes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.support.stacks import run_stack
from tools import rollout, timing
from tools.generate import image_sizes
from tools.preview import main


def _figures() -> dict:
    return yaml.safe_load(rollout.FIGURES_FILE.read_text())


@pytest.mark.parametrize("figure", ["node_launch_s", "models_mount_s", "download_mb_per_s"])
def test_a_figure_without_a_source_is_refused(tmp_path: Path, figure: str) -> None:
    document = _figures()
    path = tmp_path / "rollout.yaml"
    path.write_text(yaml.safe_dump(document))
    assert rollout.load_figures(path)["figures"][figure]["value"]  # control: sourced, read
    del document["figures"][figure]["source"]
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(ValueError, match=figure):
        rollout.load_figures(path)


def test_an_image_part_or_source_without_provenance_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rollout.yaml"
    document = _figures()
    document["figures"]["images"]["worker"][0]["source"] = "a-blog-somewhere"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(ValueError, match=r"ubuntu:24\.04 base"):
        rollout.load_figures(path)
    document = _figures()
    del document["sources"]["s3-per-connection"]["says"]
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(ValueError, match="s3-per-connection"):
        rollout.load_figures(path)
    document["figures"]["download_mb_per_s"] = {"value": None}  # unknown: listed, not refused
    del document["sources"]["s3-per-connection"]
    path.write_text(yaml.safe_dump(document))
    assert rollout.load_figures(path)["figures"]["download_mb_per_s"]["value"] is None


def test_no_part_of_the_preview_rollout_is_unknown() -> None:
    result = timing.estimate(run_stack("pr-7")).rollout
    assert result is not None
    assert [part.unknown for part in result.parts] == [[] for _ in result.parts]
    kinds = {result.sources[w.source]["kind"] for p in result.parts for w in p.waits if w.source}
    assert kinds <= rollout.SOURCE_KINDS


def test_the_printed_rollout_is_the_sum_of_the_figures_and_the_chart_probes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Recomputed here from rollout.yaml and the probes the rendered chart gives each pod."""
    figures = _figures()["figures"]
    manifests = timing.app_manifests(run_stack("pr-7"))
    assert manifests is not None

    def pull(image: str) -> float:
        down, write = figures["download_mb_per_s"]["value"], figures["write_mb_per_s"]["value"]
        parts = figures["images"][image]
        return sum(p["download_mb"] / down + p["unpacked_mb"] / write for p in parts)

    by_name = {(m["kind"], m["metadata"]["name"]): m for m in manifests}
    (worker,) = by_name[("Deployment", "gpu-worker")]["spec"]["template"]["spec"]["containers"]
    (api,) = by_name[("Deployment", "user-service")]["spec"]["template"]["spec"]["containers"]
    assert api["readinessProbe"]["periodSeconds"]  # probes come from the chart itself
    node, gpu_node = figures["node_launch_s"]["value"], figures["gpu_node_launch_s"]["value"]
    mount = figures["models_mount_s"]["value"]
    hook = node + pull("api") + figures["migrations_run_s"]["value"]
    gpu = gpu_node + mount + pull("worker") + rollout.probe_seconds(worker)
    api_pod = node + mount + pull("api") + rollout.probe_seconds(api)
    expected = hook + max(gpu, api_pod)
    assert main(["pr-7", "--timing"]) == 0
    text = capsys.readouterr().out
    assert f"pr-7: app release rollout ≈ {round(expected)} s after" in text
    scale = gpu_node + mount + pull("worker")
    assert f"scale-from-zero GPU path ≈ {round(scale)} s" in text
    assert "unknown" not in text.split("app release rollout", 1)[1]
    assert main(["pr-7", "--timing", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)["timing"]["rollout"]
    assert document["totalSeconds"] == pytest.approx(expected)
    assert document["scaleFromZeroSeconds"] == pytest.approx(scale)


def test_generated_image_figures_match_the_sizes_file_and_the_lock() -> None:
    """rollout.yaml quotes tools/image_sizes.json, whose pins are the lock's: a lock change
    without `python -m tools.generate.image_sizes` fails here."""
    sizes = json.loads(image_sizes.SIZES_FILE.read_text())
    generated = [
        part
        for parts in _figures()["figures"]["images"].values()
        for part in parts
        if "generated" in part
    ]
    assert {part["generated"] for part in generated} == set(image_sizes.LOCKS)
    for part in generated:
        image = sizes["images"][part["generated"]]
        assert part["download_mb"] == round(image["downloadBytes"] / 1e6, 2)
        assert part["unpacked_mb"] == round(image["unpackedBytes"] / 1e6, 2)
        assert image["downloadBytes"] == sum(w["downloadBytes"] for w in image["wheels"])
        wheels = {w["name"]: w["version"] for w in image["wheels"]}
        lock = image_sizes.pins(image_sizes.ROOT / image["lock"])
        assert {name: wheels.get(name) for name in lock} == lock
        assert all(w["url"].startswith(image_sizes.FILES) for w in image["wheels"])


@pytest.mark.parametrize(("argv", "status"), [(["--help"], 0), (["--check"], 2)])
def test_the_sizes_generator_answers_its_arguments_before_the_network(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], status: int
) -> None:
    """`--help` or a typo never rewrites tools/image_sizes.json from PyPI."""
    monkeypatch.setattr(image_sizes, "generate", lambda: pytest.fail("reached the network"))
    with pytest.raises(SystemExit) as exit_:
        image_sizes.main(argv)
    assert exit_.value.code == status
