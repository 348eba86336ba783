"""How long `pulumi up` and `pulumi destroy` take: the critical path of a stack's graph.

    python -m tools.preview STACK --timing

Pulumi creates independent resources in parallel and each resource after everything it
depends on, so an up from nothing takes as long as the slowest chain of dependencies;
a destroy walks the same graph backwards. The graph comes from the offline run: each
resource's dependencies (explicit `depends_on` and the resources its inputs come from),
its parent and its provider. Each resource weighs the typical duration of its type from
`durations.yaml`, where every figure names its source; a type without a figure is listed
as unknown and counted as zero, never guessed.
"""

from __future__ import annotations

import graphlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from pulumi_offline import OfflineRun, RecordedResource
from tools import rollout

DURATIONS_FILE = Path(__file__).with_name("durations.yaml")
Operation = Literal["create", "update", "delete"]
OPERATIONS: tuple[Operation, ...] = ("create", "update", "delete")
SOURCE_KINDS = frozenset({"aws-docs", "provider-docs", "kubernetes-docs", "measurement"})
# Types that take no cloud time: Pulumi's own (providers, stack references), local
# random values and this project's component resources.
LOCAL_PACKAGES = ("pulumi", "random", "pingvas")
RELEASE = "kubernetes:helm.sh/v3:Release"


@dataclass(frozen=True)
class Source:
    kind: str
    ref: str
    says: str


@dataclass(frozen=True)
class Figure:
    seconds: float
    source: str  # a key of Durations.sources


@dataclass(frozen=True)
class Durations:
    sources: Mapping[str, Source]
    # type token → operation → figure (absent: unknown)
    figures: Mapping[str, Mapping[Operation, Figure]]

    def of(self, type_token: str, operation: Operation) -> Figure | None:
        return self.figures.get(type_token, {}).get(operation)


def load_durations(path: Path = DURATIONS_FILE) -> Durations:
    """Reads the data file; a figure without a known source is an error naming it."""
    document = yaml.safe_load(path.read_text())
    sources = {key: Source(**value) for key, value in document["sources"].items()}
    for key, source in sources.items():
        if source.kind not in SOURCE_KINDS:
            raise ValueError(f"{path.name}: source {key}: unknown kind {source.kind!r}")
    figures: dict[str, dict[Operation, Figure]] = {}
    for type_token, entry in document["types"].items():
        figures[type_token] = {}
        for operation in OPERATIONS:
            value = entry.get(operation)
            if value is None:
                continue
            figure = (
                Figure(float(value["seconds"]), value["source"])
                if isinstance(value, dict)
                else Figure(float(value), entry.get("source", ""))
            )
            if figure.source not in sources:
                raise ValueError(
                    f"{path.name}: {type_token} {operation}: no source {figure.source!r}"
                )
            figures[type_token][operation] = figure
    return Durations(sources=sources, figures=figures)


@dataclass(frozen=True)
class Step:
    resource: RecordedResource
    seconds: float
    source: str | None  # None: takes no cloud time


@dataclass
class CriticalPath:
    operation: Operation
    steps: list[Step]  # in the order they run
    unknown_types: list[str] = field(default_factory=list)  # in the stack, no figure

    @property
    def total_seconds(self) -> float:
        return sum(step.seconds for step in self.steps)

    def as_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "totalSeconds": self.total_seconds,
            "path": [
                {
                    "type": step.resource.type,
                    "name": step.resource.name,
                    "seconds": step.seconds,
                    "source": step.source,
                }
                for step in self.steps
            ],
            "unknownTypes": self.unknown_types,
        }


def dependency_graph(run: OfflineRun) -> dict[str, set[str]]:
    """URN → the URNs it waits for on create (and that wait for it on delete)."""
    known = {resource.urn for resource in run.resources}
    graph: dict[str, set[str]] = {}
    for resource in run.resources:
        provider = resource.provider.rsplit("::", 1)[0] if resource.provider else None
        edges = {*resource.dependencies, resource.parent, provider}
        graph[resource.urn] = {urn for urn in edges if urn in known and urn != resource.urn}
    return graph


def is_local(type_token: str) -> bool:
    return type_token.split(":", 1)[0] in LOCAL_PACKAGES


def critical_path(
    run: OfflineRun, operation: Literal["create", "delete"], durations: Durations
) -> CriticalPath:
    """The longest chain of `operation` (create: an up from nothing; delete: a destroy)."""
    graph = dependency_graph(run)
    if operation == "delete":  # a resource goes only after everything that needs it
        reversed_graph: dict[str, set[str]] = {urn: set() for urn in graph}
        for urn, needs in graph.items():
            for needed in needs:
                reversed_graph[needed].add(urn)
        graph = reversed_graph
    by_urn = {resource.urn: resource for resource in run.resources}
    unknown: set[str] = set()

    def step(urn: str) -> Step:
        resource = by_urn[urn]
        if is_local(resource.type):
            return Step(resource, 0.0, None)
        figure = durations.of(resource.type, operation)
        if figure is None:
            unknown.add(resource.type)
            return Step(resource, 0.0, None)
        return Step(resource, figure.seconds, figure.source)

    finish: dict[str, float] = {}
    previous: dict[str, str | None] = {}
    steps = {urn: step(urn) for urn in graph}
    for urn in graphlib.TopologicalSorter(graph).static_order():
        before = max(graph[urn], key=lambda other: finish[other], default=None)
        previous[urn] = before
        finish[urn] = steps[urn].seconds + (finish[before] if before is not None else 0.0)
    path: list[Step] = []
    current = max(finish, key=lambda urn: finish[urn], default=None)
    while current is not None:
        if steps[current].seconds or steps[current].source:
            path.append(steps[current])
        current = previous[current]
    path.reverse()
    return CriticalPath(operation=operation, steps=path, unknown_types=sorted(unknown))


@dataclass
class Estimate:
    stack: str
    up: CriticalPath
    destroy: CriticalPath
    # The app release's pods, after `up`'s AWS path (environments only).
    rollout: rollout.RolloutEstimate | None = None

    def as_json(self) -> dict[str, Any]:
        document = {"up": self.up.as_json(), "destroy": self.destroy.as_json()}
        if self.rollout is not None:
            document["rollout"] = self.rollout.as_json()
        return document


def estimate(run: OfflineRun, durations: Durations | None = None) -> Estimate:
    durations = durations or load_durations()
    return Estimate(
        stack=run.stack,
        up=critical_path(run, "create", durations),
        destroy=critical_path(run, "delete", durations),
        rollout=_app_rollout(run),
    )


def _app_rollout(run: OfflineRun) -> rollout.RolloutEstimate | None:
    manifests = app_manifests(run)
    return None if manifests is None else rollout.estimate(manifests)


def app_manifests(run: OfflineRun) -> list[dict[str, Any]] | None:
    """The app chart rendered with the values the stack gives its release, as Helm will."""
    from app.chart_layers import render_chart  # the Helm engine: only for environments
    from components.environment.app_release import RELEASE_NAME

    releases = [r for r in run.of_type(RELEASE) if r.inputs.get("name") == RELEASE_NAME]
    if not releases:
        return None
    files = render_chart(releases[0].inputs["values"], RELEASE_NAME, run.stack)
    return [
        document
        for path, text in sorted(files.items())
        if path.endswith(".yaml") and "/tests/" not in path
        for document in yaml.safe_load_all(text)
        if document
    ]


def _minutes(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def as_text(result: Estimate, durations: Durations | None = None) -> str:
    durations = durations or load_durations()
    lines = []
    for title, path in (("pulumi up", result.up), ("pulumi destroy", result.destroy)):
        lines.append(
            f"{result.stack}: {title} ≈ {_minutes(path.total_seconds)} on the critical path"
        )
        for item in path.steps:
            kind = durations.sources[item.source].kind if item.source else "no cloud time"
            lines.append(
                f"  {item.seconds:6.0f} s  {item.resource.type}  {item.resource.name}  [{kind}]"
            )
        if path.unknown_types:
            lines.append("  unknown duration (counted as 0 s, not guessed):")
            lines.extend(f"    {type_token}" for type_token in path.unknown_types)
    if result.rollout is not None:
        lines.append(rollout.as_text(result.stack, result.rollout))
    used = sorted({s.source for p in (result.up, result.destroy) for s in p.steps if s.source})
    if used:
        lines.append("sources:")
        lines.extend(
            f"  {key}: {durations.sources[key].kind}, {durations.sources[key].ref}" for key in used
        )
    return "\n".join(lines)
