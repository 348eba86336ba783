"""How long an environment's `pulumi up` waits for its app Helm release: the Release waits
until the pods of its Deployments are ready (Pulumi's `Release` awaits its resources), after
the pre-install migrations hook has run.

    python -m tools.preview pr-7 --timing

The wait is the hook (node, image pull and run), then the slowest Deployment that runs pods
at install (a Deployment without `replicas`, the KEDA-scaled worker, starts with one): node
launch (a GPU node for a pod asking for a GPU), model mount, image pull (each part's
compressed size at the registry's per-connection rate, then its unpacked size at the node's
disk write rate) and the earliest moment its probes can pass (initialDelaySeconds, then a
period per success, as the kubelet runs them, read from the rendered chart). The GPU worker's
node, pull and mount are also the scale-from-zero path a first job waits for. Figures come
from `rollout.yaml`, each with its source (one without is refused); a `null` figure is
listed as unknown and counted as zero, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FIGURES_FILE = Path(__file__).with_name("rollout.yaml")
PROBES = ("startupProbe", "readinessProbe")
SOURCE_KINDS = frozenset({"aws-docs", "published-data", "maintainer", "issue-log", "measurement"})
GPU = "nvidia.com/gpu"


@dataclass(frozen=True)
class Wait:
    what: str
    seconds: float
    source: str | None  # a key of rollout.yaml's sources; None: the chart itself


@dataclass
class PodWait:
    workload: str
    waits: list[Wait]
    unknown: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(wait.seconds for wait in self.waits)


@dataclass
class RolloutEstimate:
    hook: PodWait | None
    # Every Deployment that runs pods at install: they come up in parallel.
    deployments: list[PodWait]
    sources: Mapping[str, Mapping[str, str]]
    rate_sources: tuple[str, str]  # the download and disk write rates every pull divides by

    @property
    def total_seconds(self) -> float:
        slowest = max((part.seconds for part in self.deployments), default=0.0)
        return (self.hook.seconds if self.hook else 0.0) + slowest

    @property
    def scale_from_zero(self) -> list[Wait]:
        """What a GPU worker waits for before it can start on a new node: node, pull, mount."""
        gpu = [p for p in self.deployments if any(w.what == "GPU node launch" for w in p.waits)]
        return [w for part in gpu[:1] for w in part.waits if w.what != "probes pass"]

    @property
    def parts(self) -> list[PodWait]:
        return [*([self.hook] if self.hook else []), *self.deployments]

    def as_json(self) -> dict[str, Any]:
        return {
            "totalSeconds": self.total_seconds,
            "scaleFromZeroSeconds": sum(wait.seconds for wait in self.scale_from_zero),
            "parts": [
                {
                    "workload": part.workload,
                    "seconds": part.seconds,
                    "waits": [w.__dict__ for w in part.waits],
                    "unknown": part.unknown,
                }
                for part in self.parts
            ],
        }


def probe_seconds(container: Mapping[str, Any]) -> float:
    """The earliest the container's startup and readiness probes can both pass."""
    earliest = 0.0
    for name in PROBES:
        probe = container.get(name)
        if probe:
            successes = probe.get("successThreshold", 1)
            earliest = max(earliest, probe.get("initialDelaySeconds", 0)) + (
                successes - 1
            ) * probe.get("periodSeconds", 10)
    return earliest


def load_figures(path: Path = FIGURES_FILE) -> dict[str, Any]:
    """Reads the data file; a figure without a known, complete source is an error naming it."""
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    sources = document["sources"]
    for key, source in sources.items():
        if (
            source.get("kind") not in SOURCE_KINDS
            or not source.get("ref")
            or not source.get("says")
        ):
            raise ValueError(
                f"{path.name}: source {key}: needs a known kind, a ref and what it says"
            )
    figures = document["figures"]
    named = [
        (f"images.{image}: {p['part']}", p) for image, ps in figures["images"].items() for p in ps
    ]
    named += [(key, figure) for key, figure in figures.items() if key != "images"]
    for name, figure in named:
        known = figure.get("value", figure.get("download_mb")) is not None
        if known and figure.get("source") not in sources:
            raise ValueError(f"{path.name}: {name}: no source {figure.get('source')!r}")
    return document


def _figure(figures: Mapping[str, Any], key: str, what: str, result: PodWait) -> None:
    figure = figures[key]
    if figure["value"] is None:
        result.unknown.append(what)
    else:
        result.waits.append(Wait(what, figure["value"], figure["source"]))


def _pod_wait(manifest: Mapping[str, Any], figures: Mapping[str, Any]) -> PodWait:
    pod = manifest["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    # <registry>/pingvas-<platform>-<image>(:tag|@digest)
    repository = container["image"].rsplit("/", 1)[-1].split("@")[0].split(":")[0]
    image = repository.rsplit("-", 1)[-1]
    result = PodWait(f"{manifest['kind']}/{manifest['metadata']['name']}", [])
    if GPU in (container.get("resources", {}).get("limits") or {}):
        _figure(figures, "gpu_node_launch_s", "GPU node launch", result)
    else:
        _figure(figures, "node_launch_s", "node launch", result)
    if any("persistentVolumeClaim" in v for v in pod.get("volumes", [])):
        _figure(figures, "models_mount_s", "models mount", result)
    download, write = figures["download_mb_per_s"], figures["write_mb_per_s"]
    for part in figures["images"][image]:
        if part["download_mb"] is None:
            result.unknown.append(f"{image} image: {part['part']}")
            continue
        seconds = part["download_mb"] / download["value"] + part["unpacked_mb"] / write["value"]
        what = (
            f"pull {image} image: {part['part']} ({part['download_mb']:g} MB at "
            f"{download['value']} MB/s, {part['unpacked_mb']:g} MB at {write['value']} MB/s)"
        )
        result.waits.append(Wait(what, seconds, part["source"]))
    if manifest["kind"] == "Job":
        _figure(figures, "migrations_run_s", "migrations run", result)
    else:
        result.waits.append(Wait("probes pass", probe_seconds(container), None))
    return result


def estimate(manifests: Sequence[Mapping[str, Any]], path: Path = FIGURES_FILE) -> RolloutEstimate:
    document = load_figures(path)
    figures = document["figures"]
    hooks = [
        m
        for m in manifests
        if m["kind"] == "Job"
        and "pre-install" in (m["metadata"].get("annotations") or {}).get("helm.sh/hook", "")
    ]
    running = [
        m for m in manifests if m["kind"] == "Deployment" and m["spec"].get("replicas", 1) > 0
    ]
    return RolloutEstimate(
        hook=max((_pod_wait(m, figures) for m in hooks), key=lambda w: w.seconds, default=None),
        deployments=[_pod_wait(m, figures) for m in running],
        sources=document["sources"],
        rate_sources=(figures["download_mb_per_s"]["source"], figures["write_mb_per_s"]["source"]),
    )


def as_text(stack: str, result: RolloutEstimate) -> str:
    lines = [
        f"{stack}: app release rollout ≈ {round(result.total_seconds)} s after the AWS "
        "critical path (pods, not AWS calls: outside the 3 min budget)"
    ]
    used: set[str] = set()
    shown: dict[tuple[Any, ...], str] = {}  # the API services wait alike: print one
    for part in result.parts:
        same = (tuple(part.waits), tuple(part.unknown))
        if same in shown:
            lines.append(f"  {part.workload}: as {shown[same]}")
            continue
        shown[same] = part.workload
        lines.append(f"  {part.workload}")
        for wait in part.waits:
            kind = result.sources[wait.source]["kind"] if wait.source else "chart"
            if wait.source:
                used.add(wait.source)
            lines.append(f"    {wait.seconds:6.0f} s  {wait.what}  [{kind}]")
        lines.extend(f"    unknown (0 s, not guessed): {what}" for what in part.unknown)
    if any(wait.what.startswith("pull") for part in result.parts for wait in part.waits):
        used.update(result.rate_sources)
    if result.scale_from_zero:
        # The pull's parts as one figure: the path reads node + pull + mount.
        steps: dict[str, float] = {}
        for wait in result.scale_from_zero:
            name = wait.what.split(":")[0]
            steps[name] = steps.get(name, 0.0) + wait.seconds
        lines.append(
            f"  scale-from-zero GPU path ≈ {round(sum(steps.values()))} s before a first job "
            "runs: " + " + ".join(f"{name} {seconds:.0f} s" for name, seconds in steps.items())
        )
    lines.extend(f"  source {key}: {result.sources[key]['ref'].strip()}" for key in sorted(used))
    return "\n".join(lines)
