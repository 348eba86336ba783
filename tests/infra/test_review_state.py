"""Issue 22, items 3 and 4: a review stack's state is its own. Each `pr-<N>` stack keeps
its Pulumi state under `pr-<N>/` of the platform's review-state bucket and encrypts its
secrets with the pr state key under the context `pr=pr-<N>`
(components/delivery/review_state.py). pr-7's session can neither read, write, delete
nor list pr-8's state, nor decrypt with pr-8's context — each attack beside the same
request on its own, allowed — and the review workflow logs in to the stack's own prefix."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.delivery.review_state import backend_url, secrets_provider
from pulumi_offline import OfflineRun
from tests.support.deploy_roles import ACCOUNT, SessionPolicies, policies
from tests.support.iam import Request, allowed

ROOT = Path(__file__).resolve().parents[2]
PR_ROLE = f"arn:aws:iam::{ACCOUNT}:role/pingvas-shared-deploy-pr"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1a2b"


def bucket(shared: OfflineRun) -> str:
    name: str = shared.outputs["reviewStateBucket"]
    return name


def state_objects(name: str, stack: str) -> list[Request]:
    """What the DIY backend does with one stack's objects (`.pulumi/` under its prefix)."""
    prefix = f"arn:aws:s3:::{name}/{stack}/.pulumi"
    return [
        Request("s3:GetObject", f"{prefix}/stacks/pingvas/{stack}.json"),
        Request("s3:PutObject", f"{prefix}/stacks/pingvas/{stack}.json"),
        Request("s3:PutObject", f"{prefix}/locks/organization/pingvas/{stack}/1.json"),
        Request("s3:DeleteObject", f"{prefix}/history/pingvas/{stack}/1.history.json"),
        Request("s3:GetObject", f"{prefix}/meta.yaml"),
    ]


def listing(name: str, prefix: str | None, delimiter: str | None = None) -> Request:
    context = {k: v for k, v in (("s3:prefix", prefix), ("s3:delimiter", delimiter)) if v}
    return Request("s3:ListBucket", f"arn:aws:s3:::{name}", context=context)


@pytest.mark.parametrize("index", range(5))
def test_a_previews_session_touches_only_its_own_state(shared: OfflineRun, index: int) -> None:
    session = policies(shared, "pr", pr="7")
    name = bucket(shared)
    assert allowed(session, state_objects(name, "pr-7")[index]), "the control: its own"
    for other in ("pr-8", "pr-78", "pr-7-x"):
        assert not allowed(session, state_objects(name, other)[index]), other


def test_a_previews_session_lists_only_its_own_prefix(shared: OfflineRun) -> None:
    session = policies(shared, "pr", pr="7")
    name = bucket(shared)
    assert allowed(session, listing(name, "pr-7/")), "the control"
    assert allowed(session, listing(name, "pr-7/.pulumi/stacks/"))
    # pr-8's, every prefix (pr-7 without the slash lists pr-70's too), the bucket's top.
    for prefix in ("pr-8/", "pr-7", "pr-", ""):
        assert not allowed(session, listing(name, prefix)), prefix
    assert not allowed(session, listing(name, None, "/"))


def test_only_the_untagged_sweep_lists_which_previews_have_state(shared: OfflineRun) -> None:
    untagged = policies(shared, "pr", pr=None)
    name = bucket(shared)
    assert allowed(untagged, listing(name, None, "/")), "the control: the sweep's listing"
    assert not allowed(untagged, listing(name, None)), "every key, not the prefixes"
    assert not allowed(untagged, listing(name, "pr-7/", "/"))
    for request in state_objects(name, "pr-7"):
        assert not allowed(untagged, request), request
    # The sweep lists the state bucket alone.
    assert not allowed(untagged, listing("pingvas-pr-7-images-1a2b", None, "/"))


@pytest.mark.parametrize("scope", ["dev", "prod", "images"])
def test_no_other_deploy_role_reaches_the_review_state(shared: OfflineRun, scope: str) -> None:
    session = policies(shared, scope)
    name = bucket(shared)
    for request in [*state_objects(name, "pr-7"), listing(name, "pr-7/")]:
        assert not allowed(session, request), request


def allow_everything_on(name: str) -> dict[str, Any]:
    """A stray Allow: a fence that is a Deny holds against it (only where one exists)."""
    return {
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": f"arn:aws:s3:::{name}*"},
        ]
    }


def key_policy(shared: OfflineRun) -> dict[str, Any]:
    key = shared.one("aws:kms/key:Key", "pingvas-shared-deploy-pr-state")
    policy: dict[str, Any] = json.loads(key.inputs["policy"])
    return policy


def use(action: str, context: str | None, pr: str | None = "7") -> Request:
    return Request(
        action,
        KEY,
        principal=PR_ROLE,
        principal_tags={"pr": pr} if pr else {},
        context={"kms:EncryptionContext:pr": context} if context else {},
    )


@pytest.mark.parametrize("action", ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"])
def test_a_previews_session_decrypts_only_under_its_own_context(
    shared: OfflineRun, action: str
) -> None:
    """The key policy alone grants the pr role its use (no IAM policy does); with the
    session's own policies beside it, no Deny takes the control away."""
    documents = SessionPolicies([key_policy(shared)], {}) + policies(shared, "pr", pr="7")
    assert allowed(documents, use(action, "pr-7")), "the control: its own context"
    for context in ("pr-8", "pr-78", "pr-*", None):
        assert not allowed(documents, use(action, context)), context
    assert not allowed(documents, use(action, "pr-7", pr=None)), "an untagged session"
    dev = Request(
        action, KEY, principal=PR_ROLE.replace("-pr", "-dev"), context=use(action, "pr-7").context
    )
    assert not allowed([key_policy(shared)], dev), "another deploy role"


def test_the_review_state_bucket_is_private_versioned_encrypted_and_tls_only(
    shared: OfflineRun,
) -> None:
    name = "pingvas-review-state"
    created = shared.one("aws:s3/bucket:Bucket", name)
    assert created.inputs["bucket"] == bucket(shared)
    assert created.protect
    assert not created.inputs.get("forceDestroy")
    block = shared.one(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", f"{name}-public-access"
    )
    assert all(
        block.inputs[k]
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    versioning = shared.one("aws:s3/bucketVersioning:BucketVersioning", f"{name}-versioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    shared.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        f"{name}-encryption",
    )
    policy = json.loads(
        shared.one("aws:s3/bucketPolicy:BucketPolicy", f"{name}-policy").inputs["policy"]
    )
    plain = Request(
        "s3:GetObject",
        f"arn:aws:s3:::{bucket(shared)}/pr-7/x",
        context={"aws:SecureTransport": "false"},
    )
    assert not allowed([policy, allow_everything_on(bucket(shared))], plain)
    # Tagged with its stack by the platform's provider, like everything it makes.
    provider = shared.provider_of(created)
    assert json.loads(provider.inputs["defaultTags"])["tags"]["stack"] == "shared"


WORKFLOW = ROOT / ".github" / "workflows" / "review-stack.yaml"
BACKEND_SCRIPT = ROOT / "scripts" / "review_backend.sh"


def logins(script: str) -> list[str]:
    return re.findall(r'pulumi login "([^"]+)"', script)


def backend_problems(workflow: dict[str, Any], script: str, alias: str) -> list[str]:
    """Where the review workflow's Pulumi runs use anything but the stack's own backend
    and secrets provider, or a Pulumi token."""
    problems = []
    own = backend_url("$STATE_BUCKET", "$AWS_REGION", "$stack")
    if logins(script) != [own]:
        problems.append(f"review_backend.sh logs in to {logins(script)}")
    if f'secrets="{secrets_provider(alias, "$AWS_REGION", "$stack")}"' not in script:
        problems.append("review_backend.sh: not the stack's own secrets provider")
    if "PULUMI_ACCESS_TOKEN" in json.dumps(workflow):
        problems.append("a Pulumi token")
    for name, job in workflow["jobs"].items():
        run = "\n".join(step.get("run", "") for step in job.get("steps", []))
        if "pulumi" not in run:
            continue
        stack = job.get("env", {}).get("STACK")
        if stack is not None and stack != "pr-${{ github.event.pull_request.number }}":
            problems.append(f"{name}: STACK is {stack}")
        variable = "$STACK" if stack is not None else "$stack"
        for command in ("pulumi destroy", "pulumi up", "pulumi stack rm"):
            if command in run and f'scripts/review_backend.sh "{variable}"' not in run:
                problems.append(f"{name}: {command} outside its own backend")
        for login in logins(run):
            if login != backend_url("$STATE_BUCKET", "$AWS_REGION", variable):
                problems.append(f"{name}: logs in to {login}")
        if (
            "pulumi destroy" in run
            and f'aws s3 rm --recursive "s3://$STATE_BUCKET/{variable}/"' not in run
        ):
            problems.append(f"{name}: leaves its backend behind")
    return problems


def review_workflow() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(WORKFLOW.read_text(), Loader=yaml.BaseLoader)  # noqa: S506
    return loaded


def test_the_review_workflow_logs_in_to_each_stacks_own_backend(shared: OfflineRun) -> None:
    alias = shared.one("aws:kms/alias:Alias", "pingvas-shared-deploy-pr-state").inputs["name"]
    workflow = review_workflow()
    assert backend_problems(workflow, BACKEND_SCRIPT.read_text(), alias) == []
    assert workflow["env"]["STATE_BUCKET"] == "${{ vars.REVIEW_STATE_BUCKET }}"


def test_a_workflow_on_a_shared_backend_or_another_prefix_fails(shared: OfflineRun) -> None:
    alias = shared.one("aws:kms/alias:Alias", "pingvas-shared-deploy-pr-state").inputs["name"]
    script = BACKEND_SCRIPT.read_text()
    good = review_workflow()
    root = script.replace('"s3://$STATE_BUCKET/$stack?', '"s3://$STATE_BUCKET?')
    assert backend_problems(good, root, alias)
    unbound = script.replace("&context_pr=$stack", "")
    assert backend_problems(good, unbound, alias)
    bad = review_workflow()
    bad["jobs"]["up"]["env"]["STACK"] = "pr-8"
    assert backend_problems(bad, script, alias)
    bad = review_workflow()
    bad["jobs"]["destroy"]["env"]["PULUMI_ACCESS_TOKEN"] = "${{ secrets.PULUMI_ACCESS_TOKEN }}"
    assert backend_problems(bad, script, alias)
    bad = review_workflow()
    for step in bad["jobs"]["destroy"]["steps"]:
        if "run" in step:
            step["run"] = step["run"].replace(
                'aws s3 rm --recursive "s3://$STATE_BUCKET/$STACK/"', ""
            )
    assert backend_problems(bad, script, alias)
