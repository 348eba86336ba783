"""Offline diff: what `pulumi preview --diff` would show, from two offline previews.

    python -m tools.preview STACK... --diff BASE.json [--json | --markdown] [--expect-no-changes]

BASE is an earlier `--json` output (one stack's document or a list of them, e.g. of the
target branch). Resources are matched by URN: `+` create, `-` delete, `~` update with each
changed input path (old → new), `+-` replace when a changed input is one the provider
cannot update in place (tools/replacements.py). Secret inputs stay `[secret]` on both
sides: the offline preview never holds their values, so a change of a secret's value shows
only where Pulumi would show it too, as a change of the secret's wrapper.

Replacements cascade as in the engine's preview: a resource being replaced (or created) has
unknown outputs until it exists, so every input computed from them (the preview's
`propertyDependencies`) is unknown, shown as `<replaced TYPE NAME>`; the dependant is
updated, or replaced when that input is one it cannot update in place, and so on down the
graph. A resource whose explicit provider is replaced is replaced too (the engine's
`providerChanged`). An update keeps a resource's outputs known, so it does not cascade.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pulumi_offline import SECRET
from tools.replacements import (
    REPLACED_AS_A_WHOLE,
    forces_replacement,
    unknown_forces_replacement,
)

Kind = Literal["create", "update", "replace", "delete"]
Output = Literal["text", "json", "markdown"]
SYMBOLS: dict[Kind, str] = {"create": "+", "update": "~", "delete": "-", "replace": "+-"}
_ABSENT = object()  # an input present on one side only


@dataclass(frozen=True)
class Unknown:
    """An input whose new value is unknown at preview: computed from `source`, a resource
    that is being replaced or created (`why`)."""

    why: Literal["replaced", "created"]
    source: str  # the URN
    type: str
    name: str

    def __str__(self) -> str:
        return f"<{self.why} {self.type} {self.name}>"


@dataclass(frozen=True)
class InputChange:
    path: str
    old: Any  # _ABSENT when the input is new
    new: Any  # _ABSENT when the input was removed
    forces_replacement: bool = False

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"path": self.path}
        if self.old is not _ABSENT:
            document["old"] = self.old
        if isinstance(self.new, Unknown):
            document["unknown"] = {"because": self.new.why, "urn": self.new.source}
        elif self.new is not _ABSENT:
            document["new"] = self.new
        if self.forces_replacement:
            document["forcesReplacement"] = True
        return document


@dataclass(frozen=True)
class ResourceChange:
    kind: Kind
    urn: str
    type: str
    name: str
    inputs: tuple[InputChange, ...]

    @property
    def cascaded(self) -> bool:
        """Changed only because resources it reads from are replaced or created."""
        return bool(self.inputs) and all(isinstance(c.new, Unknown) for c in self.inputs)

    def as_json(self) -> dict[str, Any]:
        return {
            "op": self.kind,
            "cascaded": self.cascaded,
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "inputs": [change.as_json() for change in self.inputs],
        }


@dataclass
class StackDiff:
    project: str
    stack: str
    resources: list[ResourceChange] = field(default_factory=list)
    outputs: list[InputChange] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return bool(self.resources or self.outputs)

    def counts(self) -> dict[Kind, int]:
        counts: dict[Kind, int] = dict.fromkeys(SYMBOLS, 0)
        for change in self.resources:
            counts[change.kind] += 1
        return counts

    def summary(self) -> str:
        """`+3 ~2 -1 +-1`, the kinds that occur, and how many of them only cascade from a
        replacement; `no changes` when none occur."""
        parts = [f"{SYMBOLS[kind]}{n}" for kind, n in self.counts().items() if n]
        if not parts:
            return "no changes" if not self.outputs else f"{len(self.outputs)} output changes"
        cascaded = sum(change.cascaded for change in self.resources)
        return " ".join(parts) + (f" ({cascaded} from replacements)" if cascaded else "")

    def as_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "summary": self.counts(),
            "changes": [change.as_json() for change in self.resources],
            "outputs": [change.as_json() for change in self.outputs],
        }


RESOURCE_KEYS = ("urn", "type", "name", "inputs")

# Exit statuses of `python -m tools.preview` and `python -m tools.cost` (docs/architecture.md):
EXIT_OK = 0  # done; with --expect-no-changes: nothing changes
EXIT_CRASHED = 1  # an unexpected error, with its traceback (Python's own status): a bug
EXIT_ERROR = 2  # invalid config, arguments or BASE: a message names what to fix
EXIT_CHANGES = 3  # --expect-no-changes, and something changes
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)
EXIT_STATUSES = f"""exit status: {EXIT_OK} done (with --expect-no-changes: no changes);
{EXIT_CHANGES} changes found with --expect-no-changes; {EXIT_ERROR} invalid config, arguments or
BASE (a message says what to fix); {EXIT_CRASHED} an unexpected error (a bug: its traceback);
{EXIT_INTERRUPTED} interrupted (Ctrl-C)"""


class BaseMismatch(ValueError):
    """BASE is a preview of another project or of other stacks."""


def check_base(documents: Sequence[Mapping[str, Any]], project: str, stacks: Sequence[str]) -> None:
    """Refuses a BASE that cannot be the earlier state of these stacks: another project, or
    none of the stacks previewed (diffing it would show every resource as new). An empty
    list is an empty base (nothing deployed yet); a stack missing from a BASE that holds
    others is new."""
    held = [f"{d.get('project')}/{d['stack']}" for d in documents]
    wanted = ", ".join(f"{project}/{stack}" for stack in stacks)
    other = sorted({str(d.get("project")) for d in documents} - {project})
    if other or (documents and not {d["stack"] for d in documents} & set(stacks)):
        raise BaseMismatch(
            f"BASE is a preview of {', '.join(held)}, not of {wanted}: make it with "
            f"`python -m tools.preview {' '.join(stacks)} --json` on the base branch"
        )


def load_base(path: Path) -> list[Mapping[str, Any]]:
    """BASE: an earlier `python -m tools.preview STACK... --json` (one document or a list).
    Raises ValueError (JSONDecodeError included) for anything else, rather than diffing
    it as if every resource were new."""
    loaded = json.loads(path.read_text())
    documents = loaded if isinstance(loaded, list) else [loaded]
    for document in documents:
        resources = document.get("resources") if isinstance(document, dict) else None
        if not (
            isinstance(document, dict)
            and isinstance(document.get("stack"), str)
            and isinstance(resources, list)
            and all(isinstance(r, dict) and all(k in r for k in RESOURCE_KEYS) for r in resources)
        ):
            raise ValueError("not the output of `python -m tools.preview STACK --json`")
    return documents


def base_document(documents: Sequence[Mapping[str, Any]], stack: str) -> Mapping[str, Any] | None:
    """The stack's document in BASE, None if BASE lacks it (a stack not created yet)."""
    return next((document for document in documents if document["stack"] == stack), None)


def diff(base: Mapping[str, Any] | None, current: Mapping[str, Any]) -> StackDiff:
    """What changes from BASE (None: a stack that does not exist yet) to CURRENT."""
    result = StackDiff(project=current["project"], stack=current["stack"])
    before = {resource["urn"]: resource for resource in (base or {}).get("resources", [])}
    after = {resource["urn"]: resource for resource in current["resources"]}
    # Resources whose outputs are unknown at preview: URN → why, for their dependants.
    unknown: dict[str, Unknown] = {}
    # Registration order: a resource's dependencies and provider come before it.
    for urn, resource in after.items():
        old = before.get(urn)
        if old is None:
            result.resources.append(_whole(resource, "create"))
            unknown[urn] = Unknown("created", urn, resource["type"], resource["name"])
            continue
        changes = _resource_changes(old, resource, unknown)
        if changes:
            kind: Kind = "replace" if any(c.forces_replacement for c in changes) else "update"
            result.resources.append(
                ResourceChange(kind, urn, resource["type"], resource["name"], changes)
            )
            if kind == "replace":
                unknown[urn] = Unknown("replaced", urn, resource["type"], resource["name"])
    # Deletions last, children before their parents as the engine deletes them.
    for urn in reversed([urn for urn in before if urn not in after]):
        result.resources.append(_whole(before[urn], "delete"))
    result.outputs = list(_changes("", (base or {}).get("outputs", {}), current.get("outputs", {})))
    return result


def _resource_changes(
    old: Mapping[str, Any], new: Mapping[str, Any], unknown: Mapping[str, Unknown]
) -> tuple[InputChange, ...]:
    """The inputs of a resource in both previews that change: those whose values differ,
    and those computed from a resource in `unknown` (the whole top-level input, as the
    engine sees it), plus its provider when that is replaced."""
    type_token = new["type"]
    unknown_inputs: dict[str, Unknown] = {}
    for key, sources in new.get("propertyDependencies", {}).items():
        source = next((unknown[urn] for urn in sources if urn in unknown), None)
        if source is not None:
            unknown_inputs[key] = source
    changes = [
        change
        for change in _changes(type_token, old["inputs"], new["inputs"])
        if _top_key(change.path) not in unknown_inputs
    ]
    as_a_whole = REPLACED_AS_A_WHOLE.get(type_token)
    if as_a_whole is not None and not as_a_whole(old["inputs"], new["inputs"]):
        changes = [dataclasses.replace(change, forces_replacement=False) for change in changes]
    for key, source in sorted(unknown_inputs.items()):
        forcing = unknown_forces_replacement(type_token, key)
        changes.append(InputChange(key, old["inputs"].get(key, _ABSENT), source, forcing))
    # The resource's own `replaceOnChanges` option forces a replacement like the provider's
    # table does (the engine checks both).
    options = new.get("replaceOnChanges", [])
    changes = [
        dataclasses.replace(change, forces_replacement=True)
        if any(_under(change.path, option) for option in options)
        else change
        for change in changes
    ]
    provider = new.get("provider") or ""
    replaced_provider = unknown.get(provider.rsplit("::", 1)[0])
    if replaced_provider is not None:
        changes.append(InputChange("provider", provider, replaced_provider, True))
    return tuple(changes)


def _under(path: str, prefix: str) -> bool:
    return prefix == "*" or path == prefix or path.startswith((f"{prefix}.", f"{prefix}["))


def _top_key(path: str) -> str:
    return path.split(".", 1)[0].split("[", 1)[0]


def _whole(resource: Mapping[str, Any], kind: Kind) -> ResourceChange:
    inputs = resource["inputs"]
    empty: dict[str, Any] = {}
    pairs = (empty, inputs) if kind == "create" else (inputs, empty)
    return ResourceChange(
        kind,
        resource["urn"],
        resource["type"],
        resource["name"],
        tuple(_changes("", *pairs)),
    )


def _changes(type_token: str, old: Any, new: Any, path: str = "") -> Iterator[InputChange]:
    """Every leaf that differs, as a dotted path (`tags.stack`, `ingress[0].fromPort`)."""
    old, new = _structured(old), _structured(new)
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new)):
            child = f"{path}.{key}" if path else str(key)
            yield from _changes(type_token, old.get(key, _ABSENT), new.get(key, _ABSENT), child)
    elif _is_list(old) and _is_list(new):
        for index in range(max(len(old), len(new))):
            yield from _changes(
                type_token,
                old[index] if index < len(old) else _ABSENT,
                new[index] if index < len(new) else _ABSENT,
                f"{path}[{index}]",
            )
    elif isinstance(old, Mapping | list) and new is _ABSENT:
        yield from _changes(type_token, old, {} if isinstance(old, Mapping) else [], path)
    elif isinstance(new, Mapping | list) and old is _ABSENT:
        yield from _changes(type_token, {} if isinstance(new, Mapping) else [], new, path)
    elif old != new:
        yield InputChange(path, old, new, forces_replacement(type_token, path))


def _structured(value: Any) -> Any:
    """JSON carried in a string (IAM policies, Helm values) is compared by its content."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str)


def _shown(value: Any, limit: int = 100) -> str:
    if value is _ABSENT:
        return "(unset)"
    if isinstance(value, Unknown):
        return str(value)
    if value == SECRET:
        return SECRET
    text = json.dumps(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def as_text(result: StackDiff) -> str:
    lines = [f"{result.project}/{result.stack}: {result.summary()}"]
    for change in result.resources:
        lines.append(f"  {SYMBOLS[change.kind]:<2} {change.type}  {change.name}")
        for item in change.inputs:
            if change.kind == "create":
                lines.append(f"       {item.path}: {_shown(item.new)}")
            elif change.kind == "delete":
                lines.append(f"       {item.path}: {_shown(item.old)}")
            else:
                mark = "  (forces replacement)" if item.forces_replacement else ""
                lines.append(f"       {item.path}: {_shown(item.old)} → {_shown(item.new)}{mark}")
    for item in result.outputs:
        lines.append(f"  ~  output {item.path}: {_shown(item.old)} → {_shown(item.new)}")
    return "\n".join(lines)


MARKDOWN_ROWS = 50  # a GitHub comment stays readable; the JSON form has every row
# GitHub refuses a comment over 65,536 characters; CI adds a heading and the cost table.
MARKDOWN_LIMIT = 50_000


def as_markdown(diffs: Sequence[StackDiff], limit: int = MARKDOWN_LIMIT) -> str:
    """A sticky PR comment: each stack's summary first, then one folded block per stack
    with one folded block per resource, cut at `limit` characters with a note saying
    how much is left out."""
    lines = ["| stack | changes |", "|---|---|"]
    lines += [f"| `{d.project}/{d.stack}` | {d.summary()} |" for d in diffs]
    text = "\n".join(lines)
    blocks = [block for d in diffs for block in _markdown_blocks(d)]
    for index, block in enumerate(blocks):
        if len(text) + len(block) > limit:
            stacks = " ".join(d.stack for d in diffs)
            return (
                f"{text}\n\n**… {len(blocks) - index} more blocks not shown**: this comment "
                f"stops at {limit:,} characters (GitHub refuses 65,536). `python -m "
                f"tools.preview {stacks} --diff BASE.json` shows every change."
            )
        text += block
    return text


def _markdown_blocks(result: StackDiff) -> Iterator[str]:
    yield f"\n\n### `{result.project}/{result.stack}`: {result.summary()}\n"
    for change in result.resources:
        lines = [
            "",
            f"<details><summary><code>{SYMBOLS[change.kind]}</code> {change.kind} "
            f"<code>{change.type}</code> <b>{_cell(change.name)}</b></summary>",
            "",
            "| input | before | after |",
            "|---|---|---|",
        ]
        for item in change.inputs[:MARKDOWN_ROWS]:
            mark = " **(forces replacement)**" if item.forces_replacement else ""
            lines.append(
                f"| `{_cell(item.path)}`{mark} | `{_cell(_shown(item.old))}` "
                f"| `{_cell(_shown(item.new))}` |"
            )
        if len(change.inputs) > MARKDOWN_ROWS:
            lines.append(f"| … {len(change.inputs) - MARKDOWN_ROWS} more | | |")
        lines += ["", "</details>"]
        yield "\n".join(lines)
    if result.outputs:
        lines = ["", "", "| output | before | after |", "|---|---|---|"]
        for item in result.outputs:
            lines.append(
                f"| `{_cell(item.path)}` | `{_cell(_shown(item.old))}` "
                f"| `{_cell(_shown(item.new))}` |"
            )
        yield "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'").replace("<", "&lt;").replace("\n", " ")


def report(
    documents: Sequence[Mapping[str, Any]],
    base: Sequence[Mapping[str, Any]],
    output: Output,
    expect_no_changes: bool,
) -> tuple[str, int]:
    """The diff of each previewed stack against BASE (`load_base`, `check_base`), and the
    exit status: EXIT_CHANGES only when changes were told not to occur."""
    diffs = [diff(base_document(base, document["stack"]), document) for document in documents]
    if output == "json":
        shown = [d.as_json() for d in diffs]
        text = json.dumps(shown[0] if len(shown) == 1 else shown, indent=2)
    elif output == "markdown":
        text = as_markdown(diffs)
    else:
        text = "\n\n".join(as_text(d) for d in diffs)
    changed = any(d.has_changes for d in diffs)
    return text, EXIT_CHANGES if expect_no_changes and changed else EXIT_OK
