"""Reading resource inputs the way CrossGuard sends them: IAM documents (identity, trust and
resource policies, inline ones too), and values that are unknown during a preview."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy

# What a real `pulumi preview` sends for a value it does not know yet.
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
# Inputs that hold a policy document, by resource type; `*` for every type.
DOCUMENT_INPUTS: dict[str, tuple[str, ...]] = {
    "aws:iam/role:Role": ("assumeRolePolicy",),
    "*": ("policy",),
}
TRUST_INPUT = "assumeRolePolicy"
PARTITIONS = ("aws", "aws-cn", "aws-us-gov")


@dataclass(frozen=True)
class Document:
    key: str
    statements: list[dict[str, Any]]

    @property
    def is_trust(self) -> bool:
        return self.key == TRUST_INPUT


def known(value: Any) -> bool:
    return value is not None and value != UNKNOWN


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def parse(value: Any) -> dict[str, Any] | None:
    """A policy document from an input: a JSON string, or already a mapping; None when
    unknown or not a document."""
    if isinstance(value, Mapping):
        return dict(value)
    if not isinstance(value, str) or value == UNKNOWN:
        return None
    try:
        document = json.loads(value)
    except json.JSONDecodeError:
        return None
    return document if isinstance(document, dict) and "Statement" in document else None


def documents(resource_type: str, props: Mapping[str, Any]) -> Iterator[Document]:
    keys = (*DOCUMENT_INPUTS.get(resource_type, ()), *DOCUMENT_INPUTS["*"])
    for key in keys:
        document = parse(props.get(key))
        if document is not None:
            yield Document(key, [s for s in as_list(document["Statement"]) if isinstance(s, dict)])
    for index, inline in enumerate(as_list(props.get("inlinePolicies"))):
        document = parse(inline.get("policy")) if isinstance(inline, Mapping) else None
        if document is not None:
            yield Document(f"inlinePolicies[{index}]", as_list(document["Statement"]))


def grants(statement: Mapping[str, Any], action: str) -> bool:
    """Whether an Allow statement grants `action` (wildcards, `service:*`, NotAction)."""
    if statement.get("Effect") != "Allow":
        return False
    if "NotAction" in statement:
        return not any(_matches(pattern, action) for pattern in as_list(statement["NotAction"]))
    return any(_matches(pattern, action) for pattern in as_list(statement.get("Action")))


def _matches(pattern: Any, action: str) -> bool:
    return isinstance(pattern, str) and fnmatch.fnmatchcase(action.lower(), pattern.lower())


def resources(statement: Mapping[str, Any]) -> list[str]:
    return [r for r in as_list(statement.get("Resource")) if isinstance(r, str)]


def reaches(statement: Mapping[str, Any], arn: str) -> bool:
    """Whether the statement's Resource (or NotResource) covers `arn`."""
    if "NotResource" in statement:
        return not any(
            fnmatch.fnmatchcase(arn, p) for p in resources({"Resource": statement["NotResource"]})
        )
    return any(fnmatch.fnmatchcase(arn, pattern) for pattern in resources(statement))


def reaches_in_a_partition(statement: Mapping[str, Any], arns: list[str]) -> bool:
    """Whether the statement covers all of `arns` (written in `aws`) in one partition: the
    stacks build ARNs in their provider's partition (components/iam.py), so a document
    for China or GovCloud must be caught as one for `aws` would."""
    return any(
        all(reaches(statement, arn.replace("arn:aws:", f"arn:{partition}:", 1)) for arn in arns)
        for partition in PARTITIONS
    )


def strings(value: Any) -> Iterator[str]:
    """Every string inside an input value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)


def stack_of(urn: str) -> str:
    """`urn:pulumi:STACK::project::type::name` → STACK."""
    return urn.split("::", 1)[0].removeprefix("urn:pulumi:")


def types_of(urn: str) -> list[str]:
    """The resource's type and its parents' types, from the URN's qualified type."""
    parts = urn.split("::")
    return parts[2].split("$") if len(parts) > 3 else []


def mandatory(name: str, description: str, validate: Any) -> ResourceValidationPolicy:
    """A resource rule of the pack: every rule here is mandatory."""
    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
    )
