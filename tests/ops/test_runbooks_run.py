"""Each runbook's restore commands run as typed — `.venv/bin/python -m ops.restore ...` from
the repository root, as an operator pastes them — against a moto server standing in for
AWS, with a `pulumi` on PATH that answers `pulumi stack output --json --stack S` with the
outputs the offline preview of S exports (so a script that reads a key no stack exports
fails here). Both the plan (`--dry-run`) and the restore itself (the runbooks' next step,
"run it without `--dry-run`") must exit 0 without a traceback.

Not run: the EFS runbook's command (moto implements no AWS Backup recovery points; the
script's calls are checked against botocore's model in test_restore.py), and the `aws`,
`kubectl` and `pulumi up` lines, which need a real account and cluster."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = ROOT / "docs/runbooks"
PREVIEW = ROOT / "tests/tools/data/preview-base.json"
COMMAND = re.compile(r"`(\.venv/bin/python -m ops\.restore [^`]+)`")
REGION = "us-east-1"
# What moto holds, named as the stacks name them.
AURORA = "pingvas-shared-aurora"
REDIS = "pingvas-prod-redis"
KEY = "images/u-1/j-1/0.png"
RUN_AGAINST_MOTO = ("aurora", "redis", "s3-object")


def commands(runbook: str) -> list[str]:
    text = " ".join((RUNBOOKS / f"{runbook}.md").read_text().split())
    return COMMAND.findall(text)


def exported_outputs(stack: str) -> dict[str, Any]:
    (preview,) = [s for s in json.loads(PREVIEW.read_text()) if s["stack"] == stack]
    return dict(preview["outputs"])


def with_moto_names(stack: str, **names: Any) -> dict[str, Any]:
    """The stack's exported outputs, with the named ones pointing at moto's resources; only
    keys the stack really exports may be replaced."""
    outputs = exported_outputs(stack)
    missing = set(names) - set(outputs)
    assert not missing, f"the {stack} stack exports no {sorted(missing)}"
    return {**outputs, **names}


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def shell_env(moto_endpoint: str, tmp_path: Path) -> dict[str, str]:
    """An operator's shell: AWS credentials (moto's endpoint) and a `pulumi` that prints
    the stack's outputs."""
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    (tmp_path / "shared.json").write_text(
        json.dumps(
            with_moto_names(
                "shared", auroraWriterEndpoint=f"{AURORA}.cluster-x.{REGION}.rds.amazonaws.com"
            )
        )
    )
    (tmp_path / "prod.json").write_text(
        json.dumps(
            with_moto_names(
                "prod",
                redisMode="replicated",
                redisHost=f"master.{REDIS}.abc.use1.cache.amazonaws.com",
            )
        )
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    pulumi = bin_dir / "pulumi"
    # `pulumi stack output --json --stack NAME`: the stack is the last argument.
    pulumi.write_text(f'#!/bin/sh\nfor stack; do :; done\nexec cat "{tmp_path}/$stack.json"\n')
    pulumi.chmod(pulumi.stat().st_mode | stat.S_IEXEC)
    return {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }


def aws(env: dict[str, str], service: str) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def create_what_the_runbook_restores(runbook: str, env: dict[str, str]) -> None:
    if runbook == "aurora":
        aws(env, "rds").create_db_cluster(
            DBClusterIdentifier=AURORA,
            Engine="aurora-postgresql",
            MasterUsername="pingvas",
            MasterUserPassword="not-a-real-password",
        )
    elif runbook == "redis":
        elasticache = aws(env, "elasticache")
        elasticache.create_replication_group(
            ReplicationGroupId=REDIS,
            ReplicationGroupDescription="prod",
            CacheNodeType="cache.t4g.medium",
            NumCacheClusters=2,
            Engine="redis",
        )
        elasticache.create_snapshot(ReplicationGroupId=REDIS, SnapshotName=f"{REDIS}-daily")
    else:
        s3 = aws(env, "s3")
        bucket = exported_outputs("prod")["imagesBucketName"]
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket=bucket, Key=KEY, Body=b"original")
        s3.delete_object(Bucket=bucket, Key=KEY)


def run(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("runbook", RUN_AGAINST_MOTO)
def test_the_runbooks_restore_commands_run_as_typed(runbook: str, shell_env: dict[str, str]):
    (planned,) = commands(runbook)
    assert planned.endswith(" --dry-run"), "the runbook plans before it restores"
    create_what_the_runbook_restores(runbook, shell_env)
    for command in (planned, planned.removesuffix(" --dry-run")):
        result = run(command, shell_env)
        assert result.returncode == 0, f"{command}\n{result.stdout}{result.stderr}"
        assert "Traceback" not in result.stderr
        assert "== Restore" in result.stdout
    if runbook == "s3-object":
        bucket = exported_outputs("prod")["imagesBucketName"]
        body = aws(shell_env, "s3").get_object(Bucket=bucket, Key=KEY)["Body"].read()
        assert body == b"original"


def test_with_nothing_to_restore_the_command_says_so_and_exits_1(shell_env: dict[str, str]):
    """Control: the same command against an account with no snapshot fails as documented."""
    aws(shell_env, "elasticache").create_replication_group(
        ReplicationGroupId=REDIS,
        ReplicationGroupDescription="prod",
        CacheNodeType="cache.t4g.medium",
        NumCacheClusters=2,
        Engine="redis",
    )
    (planned,) = commands("redis")
    result = run(planned, shell_env)
    assert result.returncode == 1
    assert "no available snapshot" in result.stderr


def test_every_restore_command_in_the_runbooks_is_run_or_excused() -> None:
    runbooks = [path for path in RUNBOOKS.glob("*.md") if path.name != "README.md"]
    assert {path.stem for path in runbooks if commands(path.stem)} == {*RUN_AGAINST_MOTO, "efs"}
    for path in [*RUNBOOKS.glob("*.md"), ROOT / "docs/operations.md"]:
        assert "`python -m ops.restore" not in path.read_text(), (
            f"{path.name}: a bare python; the scripts run from make setup's .venv"
        )
