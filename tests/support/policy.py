"""Builds the inputs CrossGuard sends a rule, and collects what the rule reports."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pulumi_offline import OfflineRun, RecordedResource
from tools.policy_check import stack_args, validation_args

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def resource(
    resource_type: str,
    props: dict[str, Any],
    *,
    stack: str = "dev",
    parent_types: str = "pulumi:pulumi:Stack",
    protect: bool = False,
    name: str = "r",
    parent: str | None = None,
) -> RecordedResource:
    return RecordedResource(
        urn=f"urn:pulumi:{stack}::pingvas::{parent_types}${resource_type}::{name}",
        type=resource_type,
        name=name,
        id=f"{name}-1",
        parent=parent,
        provider=None,
        inputs=props,
        protect=protect,
    )


def found(rule: Callable[..., None], subject: RecordedResource) -> list[str]:
    messages: list[str] = []
    rule(validation_args(subject), lambda message, _urn=None: messages.append(message))
    return messages


def stack_found(rule: Callable[..., None], *subjects: RecordedResource) -> list[str]:
    messages: list[str] = []
    run = OfflineRun("pingvas", "dev", list(subjects), {})
    rule(stack_args(run), lambda message, _urn=None: messages.append(message))
    return messages
