"""The AWS CLI profile an environment's kubeconfig signs with
(components/delivery/deployer_kubeconfig.py) is written by each job that runs Pulumi on
dev or prod: as the stack's deployer where it deploys (cd-dev, cd-prod), as the job's own
drift role where it only refreshes (drift-check). scripts/cluster_profile.sh runs here
with a fake `aws` that records what it configures."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from components.delivery.deployer_kubeconfig import environment_profile
from tests.repo.test_workflows import ROOT, workflows

SCRIPT = 'scripts/cluster_profile.sh "$STACK"'
FAKE_AWS = '#!/usr/bin/env bash\necho "$*" >> "$AWS_LOG"\n'
# Job → (whether it writes the deployer, what runs Pulumi on the stack).
JOBS = {
    ("cd-dev", "deploy"): (True, "pulumi up"),
    ("cd-prod", "deploy"): (True, "pulumi up"),
    ("drift-check", "drift"): (False, "pulumi refresh"),
}


def profile_problems(job: dict[str, Any], deployer: bool, pulumi: str) -> list[str]:
    """What keeps the job's Pulumi run from signing the stack's Kubernetes objects as
    intended: no profile step before it, or the wrong identity in it."""
    runs = [step.get("run", "") for step in job["steps"]]
    writes = [i for i, run in enumerate(runs) if run.startswith(SCRIPT)]
    uses = [i for i, run in enumerate(runs) if pulumi in run]
    if not writes or not uses or writes[0] > uses[0]:
        return [f"no {SCRIPT} before {pulumi}"]
    step = job["steps"][writes[0]]
    wanted = f'{SCRIPT} "$DEPLOYER"' if deployer else SCRIPT
    problems = [] if step["run"].strip() == wanted else [f"runs {step['run']!r}"]
    if deployer and step.get("env", {}).get("DEPLOYER") != "${{ vars.AWS_DEPLOYER_ROLE_ARN }}":
        problems.append("DEPLOYER is not the environment's deployer role")
    return problems


@pytest.mark.parametrize(("workflow", "job_id"), sorted(JOBS))
def test_each_job_writes_its_stacks_profile_before_pulumi_runs(workflow: str, job_id: str) -> None:
    deployer, pulumi = JOBS[(workflow, job_id)]
    job = workflows()[workflow]["jobs"][job_id]
    assert profile_problems(job, deployer, pulumi) == []
    moved = dict(job, steps=[s for s in job["steps"] if not s.get("run", "").startswith(SCRIPT)])
    assert profile_problems(moved, deployer, pulumi), "control: no profile step"
    swapped = profile_problems(job, not deployer, pulumi)
    assert swapped, "control: the other identity"


def configured(tmp_path: Path, *args: str) -> list[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "aws").write_text(FAKE_AWS)
    (bin_dir / "aws").chmod(0o755)
    log = tmp_path / "aws.log"
    log.unlink(missing_ok=True)
    subprocess.run(
        ["bash", str(ROOT / "scripts/cluster_profile.sh"), *args],
        env={
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "AWS_LOG": str(log),
            "AWS_ACCESS_KEY_ID": "AKIA",
            "AWS_SECRET_ACCESS_KEY": "secret",
            "AWS_SESSION_TOKEN": "token",
        },
        check=True,
    )
    return log.read_text().splitlines()


def test_the_deploy_profile_assumes_the_deployer_from_the_jobs_credentials(
    tmp_path: Path,
) -> None:
    role = "arn:aws:iam::123456789012:role/pingvas-shared-deployer-prod"
    profile = environment_profile("prod")
    assert configured(tmp_path, "prod", role) == [
        f"configure set profile.{profile}.role_arn {role}",
        f"configure set profile.{profile}.credential_source Environment",
    ]


def test_the_drift_profile_holds_the_jobs_own_session(tmp_path: Path) -> None:
    """The drift role's credentials, no role to assume (it may assume none)."""
    calls = configured(tmp_path, "dev")
    profile = environment_profile("dev")
    assert calls == [
        f"configure set aws_access_key_id AKIA --profile {profile}",
        f"configure set aws_secret_access_key secret --profile {profile}",
        f"configure set aws_session_token token --profile {profile}",
    ]
    assert not any("role_arn" in call for call in calls)
