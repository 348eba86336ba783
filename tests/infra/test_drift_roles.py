"""Issue 23 item 6: the nightly drift check's roles, one per long-lived stack
(components/delivery/drift_roles.py), evaluated as IAM would from the offline preview of
`shared`: who may assume each, that none may change anything (every Write, Tagging and
Permissions-management action parliament's database lists for the services the stacks
use), that none reads data, and what the refresh leaves out. Each attack beside a
control that is allowed."""

from __future__ import annotations

import importlib.util
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from components.delivery.deploy_policies import DEPLOY_SCOPES
from components.delivery.drift_roles import (
    MODULE_SERVICES,
    OTHER_READS,
    READ_VERBS,
    drift_scopes,
)
from components.delivery.github_oidc import GITHUB_ISSUER, STS_AUDIENCE
from infra.config import PLATFORM_STACK
from pulumi_offline import OfflineRun
from tests.support.deploy_roles import ACCOUNT
from tests.support.iam import Request, allowed
from tests.support.stacks import run_stack
from tools import drift_check

REPOSITORY = "pingvas/pingvas"  # Pulumi.shared.yaml
STACKS = sorted(scope.stack for scope in drift_scopes(PLATFORM_STACK, DEPLOY_SCOPES))
PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GITHUB_ISSUER}"
# Parliament's copy of AWS's service authorization reference.
# (read as a file: importing parliament 1.6 needs pkg_resources, tools/iam_lint.py).
_PARLIAMENT = importlib.util.find_spec("parliament")
assert _PARLIAMENT is not None
assert _PARLIAMENT.submodule_search_locations is not None
IAM_DEFINITION = Path(_PARLIAMENT.submodule_search_locations[0]) / "iam_definition.json"
CHANGES = ("Write", "Tagging", "Permissions management")
READS = ("Read", "List")


def role_name(stack: str) -> str:
    return f"pingvas-shared-deploy-drift-{stack}"


def drift_policies(shared: OfflineRun, stack: str) -> list[dict[str, Any]]:
    """Every document the role holds: its inline policy; no managed one is attached."""
    attached = [
        a
        for a in shared.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.name.startswith(role_name(stack))
    ]
    assert attached == []
    inline = shared.one("aws:iam/rolePolicy:RolePolicy", role_name(stack))
    return [json.loads(inline.inputs["policy"])]


def trust(shared: OfflineRun, stack: str) -> list[dict[str, Any]]:
    role = shared.one("aws:iam/role:Role", role_name(stack))
    return [json.loads(role.inputs["assumeRolePolicy"])]


def token(subject: str) -> Request:
    """GitHub's OIDC token for a job whose subject is `subject`, presented to STS."""
    return Request(
        "sts:AssumeRoleWithWebIdentity",
        principal=PROVIDER,
        context={f"{GITHUB_ISSUER}:sub": subject, f"{GITHUB_ISSUER}:aud": STS_AUDIENCE},
    )


def subject(
    environment: str,
    workflow: str = "drift-check.yaml",
    ref: str = "refs/heads/main",
    repo: str = REPOSITORY,
) -> str:
    return (
        f"repo:{repo}:environment:{environment}:job_workflow_ref:"
        f"{REPOSITORY}/.github/workflows/{workflow}@{ref}"
    )


@pytest.mark.parametrize("stack", STACKS)
def test_only_main_drift_check_in_its_environment_assumes_a_drift_role(
    shared: OfflineRun, stack: str
) -> None:
    policy = trust(shared, stack)
    own = f"drift-{stack}"
    assert allowed(policy, token(subject(own))), "control"
    assert allowed(policy, token(subject(own, repo="pingvas@12/pingvas@34"))), "immutable ids"
    attacks = {
        "a pull request's copy": subject(own, ref="refs/pull/7/merge"),
        "a branch": subject(own, ref="refs/heads/feature"),
        "a tag": subject(own, ref="refs/tags/v1.0.0"),
        "another workflow on main": subject(own, workflow="cd-dev.yaml"),
        "a deploy environment": subject("development"),
        "another repository": subject(own, repo="evil/pingvas"),
        **{f"{other}'s job": subject(f"drift-{other}") for other in STACKS if other != stack},
    }
    for attack, claimed in attacks.items():
        assert not allowed(policy, token(claimed)), attack
    role = shared.one("aws:iam/role:Role", role_name(stack))
    assert role.inputs["maxSessionDuration"] == 3600


def test_the_dev_deploy_role_no_longer_trusts_the_drift_check(shared: OfflineRun) -> None:
    role = shared.one("aws:iam/role:Role", "pingvas-shared-deploy-dev")
    policy = [json.loads(role.inputs["assumeRolePolicy"])]
    assert allowed(policy, token(subject("development", "cd-dev.yaml"))), "control"
    assert not allowed(policy, token(subject("development")))


@cache
def services() -> dict[str, list[dict[str, Any]]]:
    """Parliament's privileges of each IAM service prefix."""
    by_prefix: dict[str, list[dict[str, Any]]] = {}
    for service in json.loads(IAM_DEFINITION.read_text()):
        by_prefix.setdefault(service["prefix"], []).extend(service["privileges"])
    return by_prefix


def granted_services() -> list[str]:
    return sorted(set(READ_VERBS) | {action.split(":")[0] for action in OTHER_READS})


@pytest.mark.parametrize("stack", STACKS)
def test_a_drift_role_changes_nothing(shared: OfflineRun, stack: str) -> None:
    policy = drift_policies(shared, stack)
    changes = [
        f"{prefix}:{privilege['privilege']}"
        for prefix in granted_services()
        for privilege in services()[prefix]
        if privilege["access_level"] in CHANGES
    ]
    assert len(changes) > 1000  # every change of 25 services, not a sample
    arn = f"arn:aws:s3:::pingvas-{stack}-images-1"
    allowed_changes = [
        action
        for action in changes
        for tags in ({"stack": stack}, {})
        if allowed(policy, Request(action, arn, resource_tags=tags, request_tags=tags))
    ]
    assert allowed_changes == []
    # ...which the check would see: the same documents with a write granted.
    leaky = [{**policy[0], "Statement": [*policy[0]["Statement"], _allow("ec2:CreateTags")]}]
    assert allowed(leaky, Request("ec2:CreateTags", arn))


def _allow(action: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": "*"}


@pytest.mark.parametrize("stack", STACKS)
def test_a_drift_role_reads_metadata(shared: OfflineRun, stack: str) -> None:
    policy = drift_policies(shared, stack)
    for action in (
        "ec2:DescribeVpcs",
        "s3:GetBucketPolicy",
        "s3:GetLifecycleConfiguration",
        "secretsmanager:DescribeSecret",
        "eks:DescribeCluster",
        "iam:GetRolePolicy",
        "rds:DescribeDBClusters",
        "elasticache:DescribeReplicationGroups",
        "budgets:ViewBudget",
    ):
        assert allowed(policy, Request(action, resource_tags={"stack": stack})), action


@pytest.mark.parametrize("stack", STACKS)
def test_a_drift_role_reads_no_data(shared: OfflineRun, stack: str) -> None:
    policy = drift_policies(shared, stack)
    reads = {
        "s3:GetObject": f"arn:aws:s3:::pingvas-{stack}-images-1/u/1.png",
        "s3:GetObjectVersion": "arn:aws:s3:::pingvas-shared-models-1/sdxl/unet.bin",
        "secretsmanager:GetSecretValue": (
            f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:pingvas-{stack}-database-1"
        ),
        "ecr:GetAuthorizationToken": "*",
        "ecr:GetDownloadUrlForLayer": "*",
        "ecr:BatchGetImage": "*",
        "logs:GetLogEvents": "*",
        "logs:FilterLogEvents": "*",
        "ec2:GetPasswordData": "*",
        "wafv2:GetSampledRequests": f"arn:aws:wafv2:us-east-1:{ACCOUNT}:regional/webacl/x/1",
        "cloudtrail:GetEventDataStoreData": "*",
        "s3:GetDataAccess": "*",
        "sqs:ReceiveMessage": "*",
        "kms:Decrypt": "*",  # only the key's own policy grants it (test_state_secrets.py)
        "sts:AssumeRole": f"arn:aws:iam::{ACCOUNT}:role/pingvas-shared-deployer-{stack}",
    }
    for action, resource in reads.items():
        assert not allowed(policy, Request(action, resource, resource_tags={"stack": stack})), (
            action
        )
    assert allowed(policy, Request("s3:GetBucketVersioning", reads["s3:GetObject"])), "control"
    assert allowed(policy, Request("wafv2:GetWebACL", reads["wafv2:GetSampledRequests"]))


@pytest.mark.parametrize("stack", STACKS)
def test_every_service_a_stack_uses_is_readable(shared: OfflineRun, stack: str) -> None:
    aws_modules = {
        r.type.split(":")[1].split("/")[0]
        for r in run_stack(stack).resources
        if r.type.startswith("aws:")
    }
    assert aws_modules
    assert aws_modules <= set(MODULE_SERVICES), aws_modules - set(MODULE_SERVICES)
    for module in aws_modules:
        assert set(MODULE_SERVICES[module]) <= set(READ_VERBS), module
    policy = drift_policies(shared, stack)
    for prefix in granted_services():
        assert prefix in services(), f"{prefix}: no such IAM service"
        reads = [p["privilege"] for p in services()[prefix] if p["access_level"] in READS]
        assert any(allowed(policy, Request(f"{prefix}:{read}")) for read in reads), prefix
        for verb in READ_VERBS.get(prefix, ()):  # each granted verb names some action
            assert any(read.startswith(verb) for read in reads), f"{prefix}:{verb}*"


def urn_glob(glob: str) -> re.Pattern[str]:
    """Pulumi's URN glob (pkg/resource/deploy/deployment.go, UrnTargets.getMatcher): `**`
    is any text, `*` any text without a colon, the rest literal, the whole URN."""
    segments = ["[^:]*".join(map(re.escape, part.split("*"))) for part in glob.split("**")]
    return re.compile("^" + ".*".join(segments) + "$")


def excluded(stack: str, urns: list[str]) -> list[str]:
    scope = drift_check.scope_of(stack)
    assert scope is not None
    globs = [urn_glob(g) for g in scope.excluded]
    return [urn for urn in urns if any(g.match(urn) for g in globs)]


@pytest.mark.parametrize("stack", STACKS)
def test_the_refresh_leaves_out_secret_values_and_what_only_secrets_readers_refresh(
    stack: str,
) -> None:
    """Every stack: SecretVersions (their refresh reads the value). An environment: its
    Helm release (its record is found by listing the namespace's Secrets) and its
    SecretStore, which its drift role cannot read (test_drift_cluster_access.py); the
    rest of its Kubernetes objects are refreshed."""
    resources = run_stack(stack).resources
    left_out = {"aws:secretsmanager/secretVersion:SecretVersion"}
    if stack != PLATFORM_STACK:
        left_out |= {
            "kubernetes:helm.sh/v3:Release",
            "kubernetes:external-secrets.io/v1:SecretStore",
        }
    expected = sorted(r.urn for r in resources if r.type in left_out)
    assert {r.type for r in resources} >= left_out
    assert sorted(excluded(stack, [r.urn for r in resources])) == expected
    refreshed = {r.type for r in resources if r.urn not in expected}
    assert any(t.startswith("kubernetes:core/v1:") for t in refreshed)


def test_the_glob_is_pulumis() -> None:
    glob = urn_glob("**aws:secretsmanager/secretVersion:SecretVersion::**")
    assert glob.match("urn:pulumi:dev::pingvas::aws:secretsmanager/secretVersion:SecretVersion::a")
    assert not glob.match("urn:pulumi:dev::pingvas::aws:secretsmanager/secret:Secret::a")
    assert urn_glob("a*c").match("abc")
    assert not urn_glob("a*c").match("a:c")


def test_the_tool_prints_the_flags_and_refuses_a_stack_without_a_drift_role(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert drift_check.main(["dev"]) == 0
    words = capsys.readouterr().out.split()
    assert len(words) == 6
    assert words[::2] == ["--exclude"] * 3
    assert drift_check.main(["shared"]) == 0
    assert capsys.readouterr().out.split()[::2] == ["--exclude"]
    assert drift_check.main(["pr-7"]) == 2
    assert "no drift role" in capsys.readouterr().err
