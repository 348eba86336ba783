"""Every IAM document of a stack, linted by parliament with its community auditors (AWS's
action database: unknown actions, resource-type mismatches, malformed conditions;
privilege escalation, permissions management, credentials exposure).

    python -m tools.iam_lint STACK [STACK...]

Findings at MEDIUM or above, and unknown actions, fail (exit 1), except those in
policy/iam_accepted_findings.yaml, where each entry names one resource, one issue and a
piece of the finding's detail (for the action findings: every accepted action), with the
reason it is accepted.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.resources
import json
import sys
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pulumi_offline import OfflineRun

ACCEPTED_FILE = Path(__file__).resolve().parents[1] / "policy" / "iam_accepted_findings.yaml"
FAILING = frozenset({"MEDIUM", "HIGH", "CRITICAL"})
# parliament rates these LOW; a misspelt action silently grants nothing, so they fail too.
ALWAYS_FAILING = frozenset({"UNKNOWN_ACTION", "UNKNOWN_PREFIX"})
# The community auditors' findings: accepted only with the test that proves the path closed.
ESCALATION = frozenset(
    {"PRIVILEGE_ESCALATION", "PERMISSIONS_MANAGEMENT_ACTIONS", "CREDENTIALS_EXPOSURE"}
)
# The auditors' findings whose detail is the document's actions of one class.
ACTION_SETS = frozenset({"PERMISSIONS_MANAGEMENT_ACTIONS", "CREDENTIALS_EXPOSURE"})
# Inputs that hold an IAM document (identity, trust or resource policy).
DOCUMENT_KEYS = ("policy", "assumeRolePolicy", "policyDocument")


@dataclass(frozen=True)
class IamDocument:
    resource: str
    type: str
    key: str
    document: dict[str, Any]


@dataclass(frozen=True)
class Finding:
    resource: str
    key: str
    issue: str
    severity: str
    detail: str

    def __str__(self) -> str:
        return f"{self.severity} {self.issue} in {self.resource}.{self.key}: {self.detail}"


@dataclass(frozen=True)
class AcceptedFinding:
    resource: str
    issue: str
    # A piece of the finding's detail (an action, a condition key): the entry covers
    # only findings that contain it. For the auditors' action findings, every action the
    # accepted set holds, space-separated: a finding naming one more is not covered.
    detail: str
    reason: str
    # `tests/...py::test_name`: the test proving the path closed for untagged and foreign
    # resources; required for the community auditors' escalation findings.
    test: str | None = None

    def covers(self, finding: Finding) -> bool:
        if finding.resource != self.resource or finding.issue != self.issue:
            return False
        # The auditors report a document's actions of a class as one finding; a substring
        # would let an action added later to the same document pass unseen.
        if self.issue in ACTION_SETS:
            actions = json.loads(finding.detail).get("actions", [])
            return set(actions) <= set(self.detail.split())
        return self.detail in finding.detail


def _parliament() -> types.ModuleType:
    """parliament 1.6 imports `pkg_resources`, which setuptools 81+ no longer ships; its
    one use (`resource_filename`) is answered from importlib.resources."""
    try:
        importlib.import_module("pkg_resources")
    except ModuleNotFoundError:
        shim = types.ModuleType("pkg_resources")
        shim.resource_filename = lambda package, name: str(  # type: ignore[attr-defined]
            importlib.resources.files(package) / name
        )
        sys.modules["pkg_resources"] = shim
    parliament = importlib.import_module("parliament")
    # Its type table stops at ArrayOfString: a multi-valued key of another type (AWS's
    # ArrayOfARN, e.g. `events:TargetArn`) raises; such a key takes its element's type.
    statement = importlib.import_module("parliament.statement")
    translate = statement.translate_documentation_types
    if not getattr(translate, "array_aware", False):

        def element_type(name: str) -> str:
            return str(translate(name.removeprefix("ArrayOf")))

        element_type.array_aware = True  # type: ignore[attr-defined]
        statement.translate_documentation_types = element_type  # type: ignore[attr-defined]
    # The community auditors (privilege escalation, permissions management, credentials
    # exposure, ...) rate their findings in their own config, as parliament's CLI loads it
    # for --include-community-auditors.
    parliament.override_config(
        str(importlib.resources.files(parliament) / "community_auditors" / "config_override.yaml")
    )
    return parliament


def documents(run: OfflineRun) -> Iterator[IamDocument]:
    for resource in run.resources:
        for key, value in resource.inputs.items():
            if key in DOCUMENT_KEYS:
                yield from _parsed(resource.name, resource.type, key, value)
            if key == "inlinePolicies" and isinstance(value, list):
                for index, inline in enumerate(value):
                    policy = inline.get("policy") if isinstance(inline, dict) else None
                    yield from _parsed(resource.name, resource.type, f"{key}[{index}]", policy)


def _parsed(resource: str, type_: str, key: str, value: Any) -> Iterator[IamDocument]:
    if not isinstance(value, str):
        return  # unknown during a preview, or not a document
    try:
        document = json.loads(value)
    except json.JSONDecodeError:
        return
    if isinstance(document, dict) and "Statement" in document:
        yield IamDocument(resource, type_, key, document)


def findings(run: OfflineRun) -> list[Finding]:
    parliament = _parliament()
    found = []
    for document in documents(run):
        policy = parliament.analyze_policy_string(
            json.dumps(document.document), include_community_auditors=True
        )
        for finding in policy.findings:
            parliament.enhance_finding(finding)  # its severity, from parliament's config
            # A trust policy names a principal, not a resource: parliament reads every
            # document as an identity policy.
            if (
                document.key == "assumeRolePolicy"
                and finding.issue == "MALFORMED"
                and "neither Resource nor NotResource" in str(finding.detail)
            ):
                continue
            # The community auditors say what they found in the location (the actions).
            where = {k: v for k, v in (finding.location or {}).items() if k != "filepath"}
            detail = json.dumps(finding.detail or where, sort_keys=True, default=str)
            found.append(
                Finding(document.resource, document.key, finding.issue, finding.severity, detail)
            )
    return found


def load_accepted(path: Path = ACCEPTED_FILE) -> list[AcceptedFinding]:
    entries = yaml.safe_load(path.read_text()) or []
    accepted = [AcceptedFinding(**entry) for entry in entries]
    for entry in accepted:
        if len(entry.reason.split()) < 5 or not entry.detail:
            raise ValueError(f"{path}: {entry.resource}/{entry.issue} needs a detail and a reason")
        if entry.issue in ESCALATION and not entry.test:
            raise ValueError(f"{path}: {entry.resource}/{entry.issue} needs its proving test")
    return accepted


def failing(run: OfflineRun, accepted: Sequence[AcceptedFinding]) -> list[Finding]:
    """MEDIUM-or-worse findings that no accepted entry covers."""
    return [
        finding
        for finding in findings(run)
        if (finding.severity in FAILING or finding.issue in ALWAYS_FAILING)
        and not any(entry.covers(finding) for entry in accepted)
    ]


def main(argv: list[str] | None = None) -> int:
    from tools.preview import preview_stack

    parser = argparse.ArgumentParser(prog="python -m tools.iam_lint", description=__doc__)
    parser.add_argument("stacks", nargs="+")
    args = parser.parse_args(argv)
    accepted = load_accepted()
    total = 0
    for stack in args.stacks:
        run = preview_stack(stack)
        bad = failing(run, accepted)
        for finding in bad:
            print(f"{stack}: {finding}")
        count = sum(1 for _ in documents(run))
        print(f"{stack}: {count} IAM documents, {len(bad)} findings at MEDIUM or above")
        total += len(bad)
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
