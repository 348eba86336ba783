"""Runs the policy pack's rules over an offline preview: CrossGuard without the CLI.

    python -m tools.policy_check STACK [--config-file FILE]

Prints each violation and exits 1 if there is any (2 for invalid config).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra.config import ConfigError
from policy.rules import POLICIES, STACK_POLICIES
from pulumi_offline import OfflineRun, RecordedResource
from tools.preview import preview_stack


@dataclass(frozen=True)
class Violation:
    policy: str
    resource: str
    message: str


def validation_args(resource: RecordedResource) -> ResourceValidationArgs:
    return ResourceValidationArgs(
        resource.type, resource.inputs, resource.urn, resource.name, _options(resource), None
    )


def _options(resource: RecordedResource) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=resource.protect,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=resource.parent,
    )


def stack_args(run: OfflineRun) -> StackValidationArgs:
    """The whole stack as CrossGuard's stack policies see it; an input naming another
    resource's id is a property dependency on it, as the engine records."""
    by_id = {resource.id: resource for resource in run.resources}
    policy_resources: dict[str, PolicyResource] = {}
    for resource in run.resources:
        policy_resources[resource.urn] = PolicyResource(
            resource.type, resource.inputs, resource.urn, resource.name,
            _options(resource), None, None, [], {},
        )  # fmt: skip
    for resource in run.resources:
        dependencies = policy_resources[resource.urn].property_dependencies
        for key, value in resource.inputs.items():
            if isinstance(value, str) and value in by_id:
                dependencies[key] = [policy_resources[by_id[value].urn]]
    return StackValidationArgs(list(policy_resources.values()))


def check(run: OfflineRun) -> list[Violation]:
    violations = []
    for resource in run.resources:
        args = validation_args(resource)
        for policy in POLICIES:
            violations += [
                Violation(policy.name, resource.name, message)
                for message in _messages(policy, args)
            ]
    whole = stack_args(run)
    for stack_policy in STACK_POLICIES:
        violations += [
            Violation(stack_policy.name, run.stack, message)
            for message in _messages(stack_policy, whole)
        ]
    return violations


def _messages(
    policy: ResourceValidationPolicy | StackValidationPolicy,
    args: ResourceValidationArgs | StackValidationArgs,
) -> list[str]:
    messages: list[str] = []

    def report(message: str, _urn: str | None = None) -> None:
        messages.append(message)

    validations = policy.validate if isinstance(policy.validate, list) else [policy.validate]
    for validate in validations:
        if validate is not None:
            validate(args, report)  # type: ignore[arg-type]
    return messages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.policy_check", description=__doc__)
    parser.add_argument("stack")
    parser.add_argument("--config-file", type=Path)
    args = parser.parse_args(argv)
    try:
        run = preview_stack(args.stack, args.config_file)
    except ConfigError as error:
        print(f"error: invalid configuration for stack {args.stack!r}:\n{error}", file=sys.stderr)
        return 2
    violations = check(run)
    for violation in violations:
        print(f"{violation.policy}: {violation.message}")
    print(f"{args.stack}: {len(run.resources)} resources, {len(violations)} policy violations")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
