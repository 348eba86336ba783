"""Offline preview: the real program for a stack, under Pulumi's mock runtime.

    python -m tools.preview STACK [STACK ...] [--json] [--config-file FILE] [--timing]
    python -m tools.preview STACK [STACK ...] --diff BASE.json [--json | --markdown]
                            [--expect-no-changes]

Reads the stack's `Pulumi.<STACK>.yaml` (or FILE, in the same format) over the defaults
`Pulumi.yaml` declares, as the engine does, validates it (and an environment against its
platform's stack file),
runs the program with no cloud and no Pulumi CLI, and prints the resource tree (or one
JSON document, docs/architecture.md "Contracts"; a JSON list of them for several
stacks). An environment stack's platform outputs come from a preview of the platform
stack it references, run once per process however many environments are previewed.
Invalid config exits with status 2 and a message naming the key, before any resource is
registered. The first stack named runs in this process, the others then at once in forked
copies of it (`previews`); each is reported on stderr, in the order named. `--timing` prints
how long `pulumi up` and `pulumi destroy` take on the stack's critical path
(tools/timing.py). `--diff` compares with an earlier `--json` output instead (tools/diff.py).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import functools
import json
import sys
import time
from collections import Counter
from collections.abc import Generator, Mapping
from pathlib import Path
from typing import Any

import pulumi_offline as offline
from infra import config_checks
from infra.config import (
    ENVIRONMENT_PROFILES,
    PLATFORM_STACK,
    PROJECT,
    ConfigError,
    StackConfig,
    check_against_platform,
)
from infra.stack_file import project_defaults, read_stack_file
from infra.stack_names import name_problem, shown
from stacks.program import run
from stacks.release_fit import checked_stack_config
from tools import diff, forked, short_lived, timing

REPO_ROOT = Path(__file__).resolve().parent.parent

# Inputs worth a glance in the tree, in display order. Ids of other resources are shown
# as those resources' names.
FACTS = (
    "cidrBlock",
    "availabilityZone",
    "destinationCidrBlock",
    "gatewayId",
    "natGatewayId",
    "subnetId",
    "routeTableId",
    "ipProtocol",
    "fromPort",
    "toPort",
    "cidrIpv4",
    "referencedSecurityGroupId",
    "serviceName",
    "vpcEndpointType",
    "retentionInDays",
    "trafficType",
    "region",
)


def stack_file(stack: str) -> Path:
    return REPO_ROOT / f"Pulumi.{stack}.yaml"


def preview_stack(stack: str, config_file: Path | None = None) -> offline.OfflineRun:
    """Validates the stack's config, then runs the program offline.

    A stack previewed from its own file is run once per process while the file is
    unchanged (previewing several environments runs the platform once)."""
    problem = name_problem(stack)  # before the name goes into a file path
    if problem is not None:
        raise ConfigError(problem)
    if config_file is not None:
        return _preview(stack, config_file)
    path = stack_file(stack)
    modified = path.stat().st_mtime_ns if path.exists() else None
    return copy.deepcopy(_preview_committed(stack, modified))


@functools.lru_cache(maxsize=8)
def _preview_committed(stack: str, _modified: int | None) -> offline.OfflineRun:
    return _preview(stack, None)


def load_stack(
    stack: str, config_file: Path | None = None
) -> tuple[StackConfig, dict[str, str], list[str]]:
    """The stack's validated config and the raw config the engine would pass: the
    project's defaults (Pulumi.yaml) under the stack file's keys."""
    problem = name_problem(stack)
    if problem is not None:
        raise ConfigError(problem)
    path = config_file or stack_file(stack)
    project_file = REPO_ROOT / "Pulumi.yaml"
    defaults, default_secret_keys = _project_defaults(project_file.stat().st_mtime_ns)
    raw, secret_keys = dict(defaults), list(default_secret_keys)
    if path.exists():
        own, own_secret_keys = read_stack_file(path)
        raw.update(own)
        secret_keys = sorted({*secret_keys, *own_secret_keys})
    elif config_file is not None:
        raise ConfigError(f"{config_file}: no such file")
    # pr-<N> stacks need no file
    return checked_stack_config(stack, raw, secret_keys), raw, secret_keys


@functools.lru_cache(maxsize=1)
def _project_defaults(_modified: int) -> tuple[dict[str, str], list[str]]:
    """Pulumi.yaml's defaults, read once per process while the file is unchanged (each
    stack, and each environment's platform, starts from them)."""
    return project_defaults(REPO_ROOT / "Pulumi.yaml")


def previews(
    stacks: list[str], config_file: Path | None = None
) -> Generator[offline.OfflineRun, None, None]:
    """Each stack's preview, in order, each reported on stderr as it comes. The first runs
    in this process: it imports the SDK modules the program uses and previews the platform
    an environment reads. The others then run at once, one per core, in forked copies of
    this process that start with both (tools/forked.py; one after another where forking
    is not possible). Close the generator to stop the ones still running."""

    def each() -> Generator[offline.OfflineRun, None, None]:
        yield preview_stack(stacks[0], config_file)
        yield from forked.ordered_map(
            functools.partial(preview_stack, config_file=config_file), stacks[1:]
        )

    started = time.perf_counter()
    with contextlib.closing(each()) as runs:
        for number, (stack, result) in enumerate(zip(stacks, runs, strict=False), 1):
            progress(
                f"previewed {stack} ({number}/{len(stacks)}, "
                f"{len(result.resources)} resources, {time.perf_counter() - started:.1f} s)"
            )
            yield result


def _preview(stack: str, config_file: Path | None) -> offline.OfflineRun:
    config, raw, secret_keys = load_stack(stack, config_file)
    if config.platform is not None and config.environment is None:
        _check_gpu_pool(config, {}, f"{PROJECT}:cluster.gpuNodePool.gpuLimit", stack_file(stack))
    return offline.run_offline(
        project=PROJECT,
        stack=stack,
        config=raw,
        secret_keys=secret_keys,
        region=config.region,
        stack_outputs=_platform_outputs_for(config),
        program=lambda: run(config),
    )


def _platform_outputs_for(config: StackConfig) -> dict[str, Mapping[str, Any]]:
    """The outputs of the platform an environment reads, after checking the environment
    against that platform's config."""
    if config.environment is None or config.environment.platform.create:
        return {}
    reference = (
        config.environment.platform.stack or f"{offline.ORGANIZATION}/{PROJECT}/{PLATFORM_STACK}"
    )
    platform_stack = reference.rsplit("/", 1)[-1]
    platform, _, _ = load_stack(platform_stack)
    problems = []
    try:
        check_against_platform(config, platform, stack_file(platform_stack).name)
    except ConfigError as error:
        problems.append(str(error))
    if not config.is_ephemeral:  # pr-<N> stacks share the pool only while they live
        # Every edit the platform needs is stated at once (a new environment: its entry
        # in pingvas:environments and room in the GPU pool).
        own = {config.stack: config.environment.gpu_workers.max}
        try:
            _check_gpu_pool(platform, own, f"{PROJECT}:gpuWorkers.max", stack_file(platform_stack))
        except ConfigError as error:
            problems.append(str(error))
    if problems:
        raise ConfigError("\n".join(problems))
    return {reference: preview_stack(platform_stack).outputs}


def _check_gpu_pool(
    platform: StackConfig, own: dict[str, int], key: str, platform_file: Path
) -> None:
    """The platform's long-lived environments (and `own`, the one being previewed, listed
    or not yet) at their GPU maxima at once, against the platform's GPU node pool. An
    environment without a stack file runs its profile's maximum."""
    assert platform.platform is not None
    maxima = dict(own)
    for name, profile in platform.platform.environments.items():
        if name in maxima:
            continue
        try:
            environment = load_stack(name)[0].environment if stack_file(name).exists() else None
        except ConfigError:
            environment = None  # its own preview reports it
        maxima[name] = (
            environment.gpu_workers.max
            if environment is not None
            else ENVIRONMENT_PROFILES[profile]["gpuWorkers"]["max"]
        )
    problem = config_checks.gpu_pool_problem(
        key, maxima, platform.platform.cluster.gpu_node_pool.gpu_limit, platform_file.name
    )
    if problem is not None:
        raise ConfigError(problem)


def as_json(result: offline.OfflineRun) -> dict[str, Any]:
    return {
        "project": result.project,
        "stack": result.stack,
        "resources": [resource.as_json() for resource in result.resources],
        "outputs": result.outputs,
    }


def as_tree(result: offline.OfflineRun) -> str:
    names_by_id = {resource.id: resource.name for resource in result.resources}
    children: dict[str | None, list[offline.RecordedResource]] = {}
    known_urns = {resource.urn for resource in result.resources}
    for resource in result.resources:
        parent = resource.parent if resource.parent in known_urns else None
        children.setdefault(parent, []).append(resource)

    lines = [f"{result.project}/{result.stack}: {len(result.resources)} resources"]

    def describe(resource: offline.RecordedResource, depth: int) -> None:
        facts = []
        for key in FACTS:
            value = resource.inputs.get(key)
            if value is None or value == "":
                continue
            if isinstance(value, list):
                value = ",".join(names_by_id.get(str(item), str(item)) for item in value)
            facts.append(f"{key}={names_by_id.get(str(value), value)}")
        shown = f"  [{' '.join(facts)}]" if facts else ""
        lines.append(f"{'  ' * depth}{resource.type}  {resource.name}{shown}")
        for child in sorted(children.get(resource.urn, []), key=lambda r: (r.type, r.name)):
            describe(child, depth + 1)

    for top in sorted(children.get(None, []), key=lambda r: (r.type, r.name)):
        describe(top, 1)

    lines.append("resources by type:")
    for type_token, count in sorted(Counter(r.type for r in result.resources).items()):
        lines.append(f"  {count:4d}  {type_token}")
    lines.append("outputs:")
    for name, value in sorted(result.outputs.items()):
        lines.append(f"  {name}: {json.dumps(value)}")
    return "\n".join(lines)


def progress(message: str) -> None:
    """A long step's progress, on stderr so that stdout stays the document."""
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return diff.EXIT_INTERRUPTED


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.preview",
        description=__doc__,
        epilog=diff.EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("stacks", nargs="+", metavar="STACK", help="shared, dev, prod, pr-<N>")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--config-file",
        type=Path,
        help="a file in Pulumi.<stack>.yaml format to use instead of the stack's own",
    )
    parser.add_argument(
        "--timing",
        action="store_true",
        help="estimate pulumi up and destroy: the critical path of typical durations",
    )
    parser.add_argument(
        "--diff", type=Path, metavar="BASE.json", help="show the changes from an earlier --json"
    )
    parser.add_argument(
        "--markdown", action="store_true", help="with --diff: Markdown for a PR comment"
    )
    parser.add_argument(
        "--expect-no-changes",
        action="store_true",
        help=f"with --diff: exit {diff.EXIT_CHANGES} on any change",
    )
    args = parser.parse_args(argv)
    if args.config_file is not None and len(args.stacks) > 1:
        parser.error("--config-file applies to one stack")
    if args.diff is None and (args.markdown or args.expect_no_changes):
        parser.error("--markdown and --expect-no-changes apply to --diff")
    if args.diff is not None and not args.diff.is_file():
        parser.error(f"--diff {args.diff}: no such file (make it with --json)")
    try:
        base = None if args.diff is None else diff.load_base(args.diff)
        if base is not None:
            diff.check_base(base, PROJECT, args.stacks)
    except (OSError, ValueError) as error:  # JSONDecodeError is a ValueError
        parser.error(f"--diff {args.diff}: {error}")
    if args.json and args.markdown:
        parser.error("--json and --markdown are two forms of one output: choose one")
    results = []
    with contextlib.closing(previews(args.stacks, args.config_file)) as previewed:
        for stack in args.stacks:
            try:
                results.append(next(previewed))
            except ConfigError as error:
                print(
                    f"error: invalid configuration for stack {shown(stack)}:\n{error}",
                    file=sys.stderr,
                )
                return diff.EXIT_ERROR
    if base is not None:
        output: diff.Output = "json" if args.json else "markdown" if args.markdown else "text"
        text, status = diff.report(
            [as_json(result) for result in results], base, output, args.expect_no_changes
        )
        print(text)
        return status
    if args.json:
        documents = [as_json(result) for result in results]
        if args.timing:
            for document, result in zip(documents, results, strict=True):
                document["timing"] = timing.estimate(result).as_json()
        print(json.dumps(documents[0] if len(documents) == 1 else documents, indent=2))
    elif args.timing:
        print("\n\n".join(timing.as_text(timing.estimate(result)) for result in results))
    else:
        print("\n\n".join(as_tree(result) for result in results))
    return diff.EXIT_OK


if __name__ == "__main__":
    short_lived.run(main)
