"""Issue 22, item 4: no credential a pull request's job holds reads dev's, prod's or
shared's state secrets. Each long-lived environment's stack file names its own
`awskms://` secrets provider, a key whose policy lets only that environment's deploy role
use it; nothing in shared's outputs is secret, so environments read them without shared's
key. (The workflow side — Pulumi tokens per environment, no real preview from a pull
request — is tests/repo/test_delivery_trust.py.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pulumi_offline import OfflineRun
from tests.support.deploy_roles import ACCOUNT, policies
from tests.support.iam import Request, allowed

ROOT = Path(__file__).resolve().parents[2]


def key_policy(shared: OfflineRun, scope: str) -> dict[str, Any]:
    key = shared.one("aws:kms/key:Key", f"pingvas-shared-deploy-{scope}-state")
    policy: dict[str, Any] = json.loads(key.inputs["policy"])
    return policy


def role(shared: OfflineRun, scope: str) -> str:
    arn: str = shared.outputs["deployRoleArns"][scope]
    return arn


@pytest.mark.parametrize("scope", ["dev", "prod"])
def test_each_environments_state_key_is_its_deploy_roles_alone(
    shared: OfflineRun, scope: str
) -> None:
    policy = key_policy(shared, scope)
    key_arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1a2b"
    for action in ("kms:Decrypt", "kms:GenerateDataKey"):
        assert allowed([policy], Request(action, key_arn, principal=role(shared, scope))), "control"
        for other in ("pr", "dev", "prod", "images"):
            if other != scope:
                assert not allowed(
                    [policy], Request(action, key_arn, principal=role(shared, other))
                )
        # The account root (so any IAM policy in it) manages the key but cannot use it.
        root = f"arn:aws:iam::{ACCOUNT}:root"
        assert not allowed([policy], Request(action, key_arn, principal=root))
    assert allowed([policy], Request("kms:EnableKeyRotation", key_arn, principal=root))
    assert not allowed([policy], Request("kms:CreateGrant", key_arn, principal=root))


@pytest.mark.parametrize("scope", ["pr", "dev", "prod"])
def test_no_deploy_role_rewrites_a_state_keys_policy_or_grants_its_use(
    shared: OfflineRun, scope: str
) -> None:
    """The key policy lets the account manage the key, so IAM decides who may: no
    deploy role (the account's only principals a pull request or dev reach)."""
    session = policies(shared, scope)
    key_arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1a2b"
    for action in ("kms:PutKeyPolicy", "kms:CreateGrant", "kms:ScheduleKeyDeletion"):
        for tags in ({"stack": "shared"}, {"stack": "dev"}, {}):
            assert not allowed(session, Request(action, key_arn, resource_tags=tags))
    # The control: what a preview reads of it.
    assert allowed(session, Request("kms:DescribeKey", key_arn, resource_tags={"stack": "shared"}))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_stack_file_names_its_own_key(shared: OfflineRun, stack: str) -> None:
    stack_file = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    alias = shared.one("aws:kms/alias:Alias", f"pingvas-shared-deploy-{stack}-state")
    assert stack_file["secretsprovider"] == (
        f"awskms://{alias.inputs['name']}?region={stack_file['config']['aws:region']}"
    )


def secret_outputs(outputs: dict[str, Any]) -> list[str]:
    """The outputs that are (or hold) a secret, as the offline preview shows them."""
    return [name for name, value in outputs.items() if "[secret]" in json.dumps(value)]


def test_nothing_secret_in_shareds_outputs(shared: OfflineRun) -> None:
    assert shared.outputs
    assert secret_outputs(shared.outputs) == []
    # ...which the check would see: a secret output, and one inside a map.
    assert secret_outputs({"kubeconfig": "[secret]", "ok": "x"}) == ["kubeconfig"]
    assert secret_outputs({"arns": {"dev": "[secret]"}}) == ["arns"]


def drift_role(shared: OfflineRun, stack: str) -> str:
    arn: str = shared.outputs["driftRoleArns"][stack]
    return arn


@pytest.mark.parametrize("scope", ["dev", "prod"])
def test_a_drift_role_decrypts_only_its_own_stacks_state(shared: OfflineRun, scope: str) -> None:
    """The nightly drift check reads its stack's secrets (the data key in the stack file)
    with that scope's key alone, and writes none: no Encrypt, no new data key."""
    policy = key_policy(shared, scope)
    key_arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1a2b"
    own = drift_role(shared, scope)
    assert allowed([policy], Request("kms:Decrypt", key_arn, principal=own)), "control"
    for action in ("kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:CreateGrant"):
        assert not allowed([policy], Request(action, key_arn, principal=own)), action
    for other in ("shared", "dev", "prod"):
        if other != scope:
            assert not allowed(
                [policy], Request("kms:Decrypt", key_arn, principal=drift_role(shared, other))
            ), other
    # The pr key (review stacks) has no drift role at all.
    pr_key = key_policy(shared, "pr")
    for other in ("shared", "dev", "prod"):
        assert not allowed(
            [pr_key], Request("kms:Decrypt", key_arn, principal=drift_role(shared, other))
        )
