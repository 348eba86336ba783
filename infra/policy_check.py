"""Runs the policy pack's rules over an offline preview: CrossGuard without the CLI.

    python -m infra.policy_check STACK [--config-file FILE]

Prints each violation and exits 1 if there is any (2 for invalid config).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from infra.config import ConfigError
from infra.preview import preview_stack
from policy.rules import POLICIES
from pulumi_offline import OfflineRun, RecordedResource


@dataclass(frozen=True)
class Violation:
    policy: str
    resource: str
    message: str


def validation_args(resource: RecordedResource) -> ResourceValidationArgs:
    options = PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=resource.parent,
    )
    return ResourceValidationArgs(
        resource.type, resource.inputs, resource.urn, resource.name, options, None
    )


def check(run: OfflineRun) -> list[Violation]:
    violations = []
    for resource in run.resources:
        args = validation_args(resource)
        for policy in POLICIES:
            violations += [
                Violation(policy.name, resource.name, message)
                for message in _messages(policy, args)
            ]
    return violations


def _messages(policy: ResourceValidationPolicy, args: ResourceValidationArgs) -> list[str]:
    messages: list[str] = []

    def report(message: str, _urn: str | None = None) -> None:
        messages.append(message)

    validations = policy.validate if isinstance(policy.validate, list) else [policy.validate]
    for validate in validations:
        if validate is not None:
            validate(args, report)
    return messages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.policy_check", description=__doc__)
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
