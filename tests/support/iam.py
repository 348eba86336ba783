"""Evaluates identity policies the way IAM does for the conditions our policies use:
an explicit Deny wins, then any Allow, else the request is denied.

Enough to test what a deploy role may do (tests/infra/test_deploy_roles.py), and what a
resource policy grants whom (a request's `principal` against a statement's `Principal`:
"*" or the exact ARNs and service names it lists); it knows
the operators StringEquals, StringNotEquals, StringLike, StringNotLike, ArnEquals,
ArnNotEquals, ArnLike, ArnNotLike, Bool, Null, NumericGreaterThan, the IfExists suffix and
the ForAnyValue: and ForAllValues: prefixes, wildcards in actions and resources, and policy
variables (`${aws:PrincipalTag/pr}`) in resources and condition values: one whose key the
request lacks matches nothing."""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    action: str
    resource: str = "*"
    resource_tags: Mapping[str, str] = field(default_factory=dict)
    request_tags: Mapping[str, str] = field(default_factory=dict)
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    # Who asks: an ARN or a service principal; read only by resource policies.
    principal: str | None = None
    # The session's tags (`aws:PrincipalTag/<key>`).
    principal_tags: Mapping[str, str] = field(default_factory=dict)

    def value(self, key: str) -> str | Sequence[str] | None:
        if key.startswith("aws:ResourceTag/"):
            return self.resource_tags.get(key.split("/", 1)[1])
        if key.startswith("aws:RequestTag/"):
            return self.request_tags.get(key.split("/", 1)[1])
        if key.startswith("aws:PrincipalTag/"):
            return self.principal_tags.get(key.split("/", 1)[1])
        if key == "aws:TagKeys":
            return list(self.request_tags) or None
        return self.context.get(key)


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


# IAM's escapes for literal characters, then variables.
_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_LITERALS = {"*": "[*]", "?": "[?]", "$": "$"}
_NOTHING = "\x00no such key\x00"  # a key the request lacks: matches nothing


def _resolved(patterns: Any, request: Request) -> Any:
    def one(pattern: str) -> str:
        def value(match: re.Match[str]) -> str:
            key = match.group(1)
            if key in _LITERALS:
                return _LITERALS[key]
            found = request.value(key)
            return _NOTHING if not isinstance(found, str) else found.replace("*", "[*]")

        return _VARIABLE.sub(value, pattern)

    if isinstance(patterns, str):
        return one(patterns)
    return [one(p) for p in patterns]


def _matches(patterns: Any, value: str) -> bool:
    return any(fnmatch.fnmatchcase(value.lower(), p.lower()) for p in _listed(patterns))


def _condition_holds(operator: str, key: str, expected: Any, request: Request) -> bool:
    actual = request.value(key)
    expected = _resolved(expected, request)
    if operator.endswith("IfExists"):
        if actual is None:
            return True  # IAM: an absent key satisfies any ...IfExists operator
        operator = operator.removesuffix("IfExists")
    if operator == "Null":
        return (actual is None) == (str(expected).lower() == "true")
    if actual is None and operator.startswith("ForAllValues:"):
        return True  # IAM: "for all values" of no values holds
    if actual is None:
        # A missing key satisfies only the negated operators.
        return operator in NEGATED
    values = _listed(actual)
    if operator.startswith("ForAnyValue:"):
        return any(_compare(operator.split(":", 1)[1], v, expected) for v in values)
    if operator.startswith("ForAllValues:"):
        return all(_compare(operator.split(":", 1)[1], v, expected) for v in values)
    (one,) = values
    return _compare(operator, one, expected)


NEGATED = ("StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike")


def _compare(operator: str, value: str, expected: Any) -> bool:
    if operator in ("ArnEquals", "ArnLike"):  # ARNs match like strings, case-sensitively
        return any(fnmatch.fnmatchcase(value, p) for p in _listed(expected))
    if operator in ("ArnNotEquals", "ArnNotLike"):
        return not _compare("ArnLike", value, expected)
    if operator == "Bool":
        return value.lower() in [str(e).lower() for e in _listed(expected)]
    if operator == "StringEquals":
        return value in _listed(expected)
    if operator == "StringNotEquals":
        return value not in _listed(expected)
    if operator == "NumericGreaterThan":
        try:
            return float(value) > float(expected)
        except ValueError:
            return False  # IAM: a value that is no number fails a numeric operator
    if operator == "StringLike":
        return _matches(expected, value)
    if operator == "StringNotLike":
        return not _matches(expected, value)
    raise ValueError(f"the evaluator does not know the condition operator {operator}")


def _names(principal: Any, who: str | None) -> bool:
    if principal == "*":
        return True
    return who is not None and any(
        v == "*" or v == who for values in principal.values() for v in _listed(values)
    )


def _applies(statement: Mapping[str, Any], request: Request) -> bool:
    if "NotPrincipal" in statement:
        raise ValueError("the evaluator does not know NotPrincipal")
    if "Principal" in statement and not _names(statement["Principal"], request.principal):
        return False
    if "Action" in statement and not _matches(statement["Action"], request.action):
        return False
    if "NotAction" in statement and _matches(statement["NotAction"], request.action):
        return False
    if "Resource" in statement and not _matches(
        _resolved(statement["Resource"], request), request.resource
    ):
        return False
    if "NotResource" in statement and _matches(
        _resolved(statement["NotResource"], request), request.resource
    ):
        return False
    for operator, conditions in statement.get("Condition", {}).items():
        for key, expected in conditions.items():
            if not _condition_holds(operator, key, expected, request):
                return False
    return True


def allowed(policies: Sequence[Mapping[str, Any]], request: Request) -> bool:
    """Whether `policies` allow `request`; the session tags of `policies` (a
    tests.support.deploy_roles.SessionPolicies) apply to a request that names none."""
    tags = getattr(policies, "principal_tags", None)
    if tags and not request.principal_tags:
        request = dataclasses.replace(request, principal_tags=tags)
    statements = [s for policy in policies for s in _listed_statements(policy)]
    if any(s["Effect"] == "Deny" and _applies(s, request) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and _applies(s, request) for s in statements)


def _listed_statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = policy["Statement"]
    return [statements] if isinstance(statements, Mapping) else list(statements)
