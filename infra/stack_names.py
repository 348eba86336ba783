"""Which stack names the program accepts, decided before anything reads a file or
registers a resource.

A stack's name becomes its Kubernetes namespace, a DNS label in its hostnames and part
of every AWS name (`pingvas-<stack>-<thing>`), so it must be a DNS-1123 label short
enough for the tightest of those limits.
"""

from __future__ import annotations

import re

# The tightest derived name: the ElastiCache replication group `pingvas-<stack>-redis`,
# at most 40 characters (ElastiCache's limit), leaves 26 for the stack. Every other
# derived name (S3 buckets `pingvas-<stack>-images-<8 hex>` within 63, IAM roles within
# 64, SQS queues within 80, namespaces within 63) fits with room to spare;
# tests/infra/test_stack_names.py previews a 26-character stack of each role and checks
# every resource's name against its service's limit.
MAX_STACK_NAME_LENGTH = 26
DNS_LABEL = re.compile(r"^[a-z]([a-z0-9-]*[a-z0-9])?$")
EPHEMERAL_STACK = re.compile(r"^pr-(?P<number>[1-9][0-9]{0,5})$")
# Namespaces the platform and its add-ons own: an environment named after one would
# share it (and its permissions) with them.
RESERVED_ENVIRONMENT_NAMES = frozenset(
    {"default", "argocd", "monitoring", "karpenter", "keda", "external-secrets", "database-admin"}
)


def shown(stack: str) -> str:
    """The name quoted for a message: escaped, and cut short when it is long."""
    return ascii(stack) if len(stack) <= 30 else f"{stack[:30]!a}... ({len(stack)} chars)"


def name_problem(stack: str) -> str | None:
    """Why `stack` cannot be a stack name of this project at all, or None."""
    shown_name = shown(stack)
    if not stack:
        return "the stack name is empty"
    if len(stack) > MAX_STACK_NAME_LENGTH:
        return (
            f"stack name {shown_name} is {len(stack)} characters; at most "
            f"{MAX_STACK_NAME_LENGTH} keep every derived name within AWS limits "
            "(pingvas-<stack>-redis: 40)"
        )
    if not DNS_LABEL.match(stack):
        return (
            f"stack name {shown_name} is not a DNS-1123 label (lower-case letters, digits and '-', "
            "starting with a letter, not ending with '-'): it becomes a namespace and a hostname"
        )
    if "--" in stack:
        return f"stack name {shown_name} has '--', which AWS refuses in several resource names"
    if stack.startswith("pr-") and not EPHEMERAL_STACK.match(stack):
        return (
            f"stack name {shown_name}: 'pr-' names are ephemeral stacks, pr-<pull request number>"
        )
    return None


def role_problem(stack: str, role: str) -> str | None:
    """Why a stack named `stack` cannot have `role`, or None. (Which role a conventional
    name always has is the stack's kind: infra/config/profiles.py.)"""
    if role == "environment" and (stack in RESERVED_ENVIRONMENT_NAMES or stack.startswith("kube-")):
        return (
            f"an environment named {stack!r} would share the platform's namespace {stack!r}; "
            "choose another name"
        )
    return None
