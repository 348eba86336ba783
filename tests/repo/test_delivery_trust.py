"""Issue 22 items 4 and 5, issue 23 item 1, read from the workflows and the setup script
in docs/delivery.md: every environment a deploy role trusts has a deployment policy; the
subject template is the one the trusts assume; Pulumi tokens live in environments and
reach no job running a pull request's code with an OIDC token; and each deploy pins the
tag and digest a previous job of the same run pushed. Each check has a bad case."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.delivery.deploy_policies import DEPLOY_SCOPES
from components.delivery.drift_roles import drift_scopes
from components.delivery.github_oidc import DEFAULT_BRANCH, SUBJECT_CLAIM_KEYS
from infra.config import PLATFORM_STACK

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def setup_script() -> str:
    text = (ROOT / "docs" / "delivery.md").read_text()
    (script,) = re.findall(r"```sh\n(R=.*?)```", text, re.DOTALL)
    return script


def workflow(name: str) -> dict[str, Any]:
    text = (WORKFLOWS / f"{name}.yaml").read_text()
    loaded: dict[str, Any] = yaml.load(text, Loader=yaml.BaseLoader)  # noqa: S506 (strings only)
    return loaded


def trusted_environments() -> dict[str, tuple[str, str]]:
    """Environment → the (name, type) of the deployment policy its trusted ref needs."""
    needed = {}
    trusted = [t for scope in DEPLOY_SCOPES for t in scope.trusted] + [
        t for scope in drift_scopes(PLATFORM_STACK, DEPLOY_SCOPES) for t in scope.trusted
    ]
    for job in trusted:
        if job.environment:
            kind, _, name = job.ref.removeprefix("refs/").partition("/")
            needed[job.environment] = (name, "branch" if kind == "heads" else "tag")
    return needed


def environments_without_policy(script: str, needed: dict[str, tuple[str, str]]) -> set[str]:
    """The environments the script leaves without a custom deployment policy for the
    ref their role trusts (a loop `for env in a b; do` counts for each of a, b)."""
    expanded = script
    for names, body in re.findall(r"for env in ([^;]+); do\n(.*?)\ndone", script, re.DOTALL):
        expanded += "".join(body.replace("$env", name) for name in names.split())
    missing = set()
    for environment, (ref, kind) in needed.items():
        custom = re.search(
            rf"environments/{re.escape(environment)} --input - <<'JSON'\n[^J]*"
            r'"custom_branch_policies": true',
            expanded,
        )
        policy = re.search(
            rf"environments/{re.escape(environment)}/deployment-branch-policies "
            rf"-f name='?{re.escape(ref)}'? -f type={kind}",
            expanded,
        )
        if not (custom and policy):
            missing.add(environment)
    return missing


def test_every_trusted_environment_has_a_deployment_policy() -> None:
    needed = trusted_environments()
    assert set(needed) == {
        "review",
        "development",
        "production",
        "drift-shared",
        "drift-dev",
        "drift-prod",
    }
    assert environments_without_policy(setup_script(), needed) == set()
    # The environment of the first approval gets the same tag policy.
    assert (
        environments_without_policy(setup_script(), {"production-approval": ("v*", "tag")}) == set()
    )


def test_a_trusted_environment_without_a_policy_fails() -> None:
    script = setup_script().replace("for env in review development; do", "for env in review; do")
    assert environments_without_policy(script, trusted_environments()) == {"development"}
    script = setup_script().replace("-f name='v*' -f type=tag", "-f name='*' -f type=tag")
    assert environments_without_policy(script, trusted_environments()) == {"production"}
    script = setup_script().replace("drift-shared drift-dev drift-prod", "drift-shared drift-dev")
    assert environments_without_policy(script, trusted_environments()) == {"drift-prod"}


def test_the_subject_template_is_the_one_the_trusts_assume() -> None:
    (template,) = re.findall(
        r"actions/oidc/customization/sub --input - <<'JSON'\n(.*?)\nJSON", setup_script(), re.DOTALL
    )
    assert json.loads(template) == {
        "use_default": False,
        "include_claim_keys": list(SUBJECT_CLAIM_KEYS),
    }


def test_pulumi_tokens_are_environment_secrets_only() -> None:
    script = setup_script()
    sets = re.findall(r"gh secret set PULUMI_ACCESS_TOKEN[^\n]*", script)
    assert sets
    assert all("--env" in line for line in sets)
    for path in WORKFLOWS.glob("*.yaml"):
        loaded = workflow(path.stem)
        assert "PULUMI_ACCESS_TOKEN" not in json.dumps(loaded.get("env", {})), path.name
        for name, job in loaded["jobs"].items():
            if "secrets.PULUMI_ACCESS_TOKEN" in json.dumps(job):
                assert job.get("environment"), f"{path.name}/{name}: a repository secret"


def runs_pull_request_code(job: dict[str, Any]) -> bool:
    return any(
        "pull_request.head" in step.get("with", {}).get("ref", "") for step in job.get("steps", [])
    )


def test_no_pull_request_code_runs_where_an_oidc_token_or_a_real_preview_is() -> None:
    """A job that checks out the pull request's head may hold the tagged pr-<N> session
    but no OIDC token (which would let it tag a session for another pull request); no
    workflow a pull request can edit (`pull_request`) holds credentials at all."""
    for path in WORKFLOWS.glob("*.yaml"):
        loaded = workflow(path.stem)
        for name, job in loaded["jobs"].items():
            permissions = job.get("permissions", {})
            if runs_pull_request_code(job):
                assert permissions.get("id-token") != "write", f"{path.name}/{name}"
            if "pull_request" in loaded["on"] and "uses" not in job:
                assert "secrets." not in json.dumps(job), f"{path.name}/{name}"
                assert permissions.get("id-token") != "write" or path.stem == "images"
                assert "pulumi" not in json.dumps(job.get("steps", [])), f"{path.name}/{name}"


def pull_request_code_exposures(loaded: dict[str, Any]) -> list[str]:
    """In a job that runs the pull request's code: a write permission of the job's token,
    or a secret handed to a step that runs anything but the default branch's copy
    (`trusted/`) — the pull request's copy of a script could print it."""
    found = []
    for name, job in loaded["jobs"].items():
        if not runs_pull_request_code(job):
            continue
        found += [
            f"{name}: {scope}: write"
            for scope, level in job.get("permissions", {}).items()
            if level == "write"
        ]
        for step in job.get("steps", []):
            run = step.get("run", "").strip()
            if "secrets." in json.dumps(step) and not run.startswith("trusted/"):
                found.append(f"{name}: {step.get('name') or run or step.get('uses')}: a secret")
    return found


def test_pull_request_code_gets_no_write_token_and_no_secret() -> None:
    """The review stack runs the pull request's program with its own pr-<N> session; the
    hand-off key that unseals any pull request's session stays with main's script, and
    the comment is written by a job that runs none of the pull request's code."""
    for path in WORKFLOWS.glob("*.yaml"):
        assert pull_request_code_exposures(workflow(path.stem)) == [], path.name


def test_a_secret_or_write_token_beside_pull_request_code_fails() -> None:
    loaded = workflow("review-stack")
    up = loaded["jobs"]["up"]
    (step,) = [s for s in up["steps"] if "HANDOFF_KEY" in s.get("env", {})]
    step["run"] = step["run"].removeprefix("trusted/")
    up["permissions"]["pull-requests"] = "write"
    assert len(pull_request_code_exposures(loaded)) == 2


PIN = re.compile(r'pulumi config set --path "?pingvas:imageTags\.(\w+|\$image)"? "(\$\w+)@(\$\w+)"')


def unpinned_deploys(loaded: dict[str, Any]) -> list[str]:
    """Each image a deploy sets that is not `<tag>@<digest>` from the outputs of a job it
    needs that pushed them through images.yaml (or, for a release, the digest ECR holds
    for the tag of the commit it checked out)."""
    problems = []
    jobs = loaded["jobs"]
    for name, job in jobs.items():
        script = "\n".join(step.get("run", "") for step in job.get("steps", []))
        if "pingvas:imageTags" not in script or "pulumi up" not in script:
            continue
        pins = PIN.findall(script)
        if not pins or len(
            re.findall(r"pulumi config set --path \"?pingvas:imageTags", script)
        ) != len(pins):
            problems.append(f"{name}: an image tag without a digest")
            continue
        needs = job.get("needs", [])
        needs = [needs] if isinstance(needs, str) else needs
        env = job.get("env", {})
        for _image, tag, digest in pins:
            tag_source = env.get(tag.lstrip("$"), "")
            found = re.fullmatch(r"\$\{\{ needs\.(\w+)\.outputs\.tag \}\}", tag_source)
            if found is None:
                # A release: the checked-out commit's tag, the digest read from ECR for it.
                if not ("TAG=$(git rev-parse HEAD)" in script and "imageTag=$TAG" in script):
                    problems.append(f"{name}: {tag} is not a tag this run pushed")
                continue
            pusher = found.group(1)
            called = jobs.get(pusher, {})
            if (
                pusher not in needs
                or called.get("uses") != "./.github/workflows/images.yaml"
                or called.get("with", {}).get("push") != "true"
            ):
                problems.append(f"{name}: {tag} comes from {pusher}, which pushes nothing")
            digest_source = env.get(digest.lstrip("$"), "")
            if not re.fullmatch(
                rf"\$\{{\{{ needs\.{pusher}\.outputs\.\w+-digest \}}\}}", digest_source
            ):
                problems.append(f"{name}: {digest} is not the digest {pusher} pushed")
    return problems


@pytest.mark.parametrize("name", ["cd-dev", "cd-prod", "review-stack"])
def test_each_deploy_pins_what_this_run_pushed(name: str) -> None:
    loaded = workflow(name)
    assert unpinned_deploys(loaded) == []
    assert any("pingvas:imageTags" in json.dumps(job) for job in loaded["jobs"].values())


def test_a_deploy_of_another_tag_or_digest_fails() -> None:
    review = workflow("review-stack")
    for key, value in (
        ("TAG", "${{ github.event.pull_request.head.sha }}"),
        ("API_DIGEST", "${{ vars.API_DIGEST }}"),
    ):
        bad = copy.deepcopy(review)
        bad["jobs"]["up"]["env"][key] = value
        assert unpinned_deploys(bad), key
    bad = copy.deepcopy(review)
    bad["jobs"]["images"]["with"]["push"] = "false"
    assert unpinned_deploys(bad)
    bad = copy.deepcopy(workflow("cd-dev"))
    for step in bad["jobs"]["deploy"]["steps"]:
        if "run" in step:
            step["run"] = step["run"].replace('"$TAG@$API_DIGEST"', '"$TAG"')
    assert unpinned_deploys(bad)


def test_review_images_are_tagged_for_their_pull_request_and_main_is_the_ref() -> None:
    images = workflow("review-stack")["jobs"]["images"]
    assert images["with"]["tag-prefix"] == "pr-${{ github.event.pull_request.number }}-"
    assert images["with"]["ref"] == "${{ github.event.pull_request.head.sha }}"
    assert "pull_request_target" in workflow("review-stack")["on"]
    assert DEFAULT_BRANCH == "refs/heads/main"
