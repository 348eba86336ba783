"""Stack names: one clear message for any bad name, no traceback, no hang; the longest
accepted name keeps every derived name within its service's limit."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pytest

import pulumi_offline as offline
from components.cluster.platform_namespaces import PLATFORM_NAMESPACES
from infra.config import PROJECT, ConfigError, load_stack_config
from infra.stack_names import MAX_STACK_NAME_LENGTH, RESERVED_ENVIRONMENT_NAMES
from stacks.program import run
from tools.preview import main, preview_stack

ENVIRONMENT_FILE = "config:\n  pingvas:profile: dev\n  pingvas:redis:\n    mode: in-cluster\n"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "the stack name is empty"),
        ("Dev", "'Dev' is not a DNS-1123 label"),
        ("STAGING", "'STAGING' is not a DNS-1123 label"),
        ("dev_1", "'dev_1' is not a DNS-1123 label"),
        ("dév", "'d\\xe9v' is not a DNS-1123 label"),
        ("環境", "is not a DNS-1123 label"),
        ("stage\U0001f680", "is not a DNS-1123 label"),
        ("-dev", "is not a DNS-1123 label"),
        ("dev-", "is not a DNS-1123 label"),
        ("1dev", "is not a DNS-1123 label"),
        ("dev name", "is not a DNS-1123 label"),
        ("../etc", "is not a DNS-1123 label"),
        ("dev\x00", "is not a DNS-1123 label"),
        ("a--b", "has '--'"),
        ("pr-abc", "'pr-' names are ephemeral stacks, pr-<pull request number>"),
        ("pr-0", "'pr-' names are ephemeral stacks"),
        ("pr-1234567", "'pr-' names are ephemeral stacks"),
        ("a" * (MAX_STACK_NAME_LENGTH + 1), f"is 27 characters; at most {MAX_STACK_NAME_LENGTH}"),
        ("x" * 100_000, "(100000 chars) is 100000 characters; at most 26"),
        ("ü" * 5000, "is 5000 characters; at most 26"),
    ],
)
def test_bad_stack_names_exit_2_with_one_message(
    name: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--", name]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing was previewed
    assert message in captured.err
    assert "Traceback" not in captured.err
    assert len(captured.err) < 600  # one line, never the whole name echoed back
    with pytest.raises(ConfigError, match=r"stack name|DNS-1123"):
        load_stack_config(name, {})  # the `pulumi up` path rejects it the same way


@pytest.mark.parametrize(
    ("name", "role", "message"),
    [
        ("kube-system", "environment", "would share the platform's namespace 'kube-system'"),
        ("default", "environment", "would share the platform's namespace 'default'"),
        ("karpenter", "environment", "would share the platform's namespace 'karpenter'"),
        ("shared", "environment", "stack 'shared' is always the platform role"),
        ("prod", "platform", "stack 'prod' is always the environment role"),
        ("pr-7", "platform", "stack 'pr-7' is always the environment role"),
    ],
)
def test_names_must_fit_the_role(
    name: str, role: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_file = tmp_path / "candidate.yaml"
    config_file.write_text(
        f"config:\n  pingvas:role: {role}\n  pingvas:edge:\n    domain: x.example.com\n"
        + ("  pingvas:profile: dev\n" if role == "environment" else "")
    )
    assert main([name, "--config-file", str(config_file)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "pingvas:role: " in err
    assert "Traceback" not in err


def test_the_platforms_namespaces_are_reserved() -> None:
    assert set(PLATFORM_NAMESPACES) <= RESERVED_ENVIRONMENT_NAMES


# What each service allows (its API reference), for the names the stacks set.
NAME_LIMITS = {
    ("aws:elasticache/replicationGroup:ReplicationGroup", "replicationGroupId"): 40,
    ("aws:elasticache/subnetGroup:SubnetGroup", "name"): 255,
    ("aws:s3/bucket:Bucket", "bucket"): 63,
    ("aws:rds/cluster:Cluster", "clusterIdentifier"): 63,
    ("aws:rds/clusterInstance:ClusterInstance", "identifier"): 63,
    ("aws:rds/subnetGroup:SubnetGroup", "name"): 255,
    ("aws:rds/clusterParameterGroup:ClusterParameterGroup", "name"): 255,
    ("aws:sqs/queue:Queue", "name"): 80,
    ("aws:backup/vault:Vault", "name"): 50,
    ("aws:backup/plan:Plan", "name"): 50,
    ("aws:backup/selection:Selection", "name"): 50,
    ("aws:secretsmanager/secret:Secret", "name"): 512,
    ("aws:ecr/repository:Repository", "name"): 256,
    ("aws:cloudfront/originAccessControl:OriginAccessControl", "name"): 64,
    ("aws:cloudwatch/logGroup:LogGroup", "name"): 512,
    ("aws:kms/alias:Alias", "name"): 256,
    ("aws:iam/role:Role", "name"): 64,
    ("aws:iam/policy:Policy", "name"): 128,
    ("aws:cloudwatch/eventRule:EventRule", "name"): 64,
    ("eks:index:Cluster", "name"): 100,
}


def test_the_longest_name_keeps_every_derived_name_within_limits(tmp_path: Path) -> None:
    # A sandbox builds the platform and a node-based ElastiCache environment (the
    # replication group's id is the longest-limited name), so one preview names
    # everything either role creates.
    name = "sandbox-" + "x" * (MAX_STACK_NAME_LENGTH - len("sandbox-"))
    config_file = tmp_path / "sandbox.yaml"
    config_file.write_text(
        "config:\n  pingvas:profile: dev\n  pingvas:platform:\n    create: true\n"
        "  pingvas:edge:\n    domain: sandbox.example.com\n"
        "  pingvas:redis:\n    mode: standalone\n    nodeType: cache.t4g.small\n"
    )
    run = preview_stack(name, config_file)
    checked = 0
    for resource in run.resources:
        for (type_token, key), limit in NAME_LIMITS.items():
            value = resource.inputs.get(key)
            if resource.type == type_token and isinstance(value, str):
                assert len(value) <= limit, f"{type_token} {key} {value!r} exceeds {limit}"
                checked += 1
        metadata = resource.inputs.get("metadata")
        if resource.type.startswith("kubernetes:") and isinstance(metadata, dict):
            limit = 63 if resource.type == "kubernetes:core/v1:Namespace" else 253
            assert len(str(metadata.get("name", ""))) <= limit
    redis = run.one("aws:elasticache/replicationGroup:ReplicationGroup", f"pingvas-{name}-redis")
    assert len(redis.inputs["replicationGroupId"]) == 40  # the limit the length comes from
    assert checked >= 20


def test_a_new_environment_works_from_its_stack_file_alone(tmp_path: Path) -> None:
    """With a platform of its own (a sandbox); on the shared platform it also needs its
    schema owner declared there (the next test, and docs/security.md)."""
    config_file = tmp_path / "Pulumi.staging.yaml"
    config_file.write_text(
        ENVIRONMENT_FILE
        + "  pingvas:platform:\n    create: true\n"
        + "  pingvas:edge:\n    domain: staging.example.com\n"
    )
    run = preview_stack("staging", config_file)
    namespaces = {n.inputs["metadata"]["name"] for n in run.of_type("kubernetes:core/v1:Namespace")}
    assert "staging" in namespaces
    assert run.outputs["redisMode"] == "in-cluster"
    assert run.of_type("kubernetes:helm.sh/v3:Release")
    # Its own platform made its schema owner, whom its migrations run as.
    assert run.outputs["databaseOwnerSecretArn"].startswith(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:pingvas-staging-staging-schema-owner"
    )


def test_a_new_environment_is_told_what_to_add_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_file = tmp_path / "Pulumi.staging.yaml"
    config_file.write_text("config:\n  pingvas:costCenter: staging\n")
    assert main(["staging", "--config-file", str(config_file)]) == 2
    assert "set pingvas:profile (dev or prod) for an environment" in capsys.readouterr().err

    config_file.write_text("config:\n  pingvas:profile: dev\n")  # ElastiCache, as dev
    assert main(["staging", "--config-file", str(config_file)]) == 2
    err = capsys.readouterr().err
    assert (
        "pingvas:redis.mode: 'serverless' (ElastiCache) needs the platform's redis-staging "
        "security group: add staging to pingvas:environments in Pulumi.shared.yaml"
    ) in err
    assert "or set pingvas:redis.mode to in-cluster" in err
    schema_owner = (
        "pingvas:environments: the platform has no schema owner for staging: add "
        "staging (with its profile) to pingvas:environments in Pulumi.shared.yaml"
    )
    assert schema_owner in err
    # dev 3 + prod 15 fill the committed pool of 18: the second platform edit.
    gpu_pool = (
        "pingvas:gpuWorkers.max: the environments' GPU workers at their maxima (dev 3 + prod "
        "15 + staging 3 = 21) exceed the platform's GPU node pool (18): raise "
        "pingvas:cluster.gpuNodePool.gpuLimit to 21 in Pulumi.shared.yaml"
    )
    assert gpu_pool in err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 4

    config_file.write_text(ENVIRONMENT_FILE + "  pingvas:gpuWorkers:\n    max: 0\n")
    # In-cluster Redis and no GPU workers: the schema owner remains.
    assert main(["staging", "--config-file", str(config_file)]) == 2
    err = capsys.readouterr().err
    assert schema_owner in err
    assert len(err.splitlines()) == 2


def test_pulumi_up_of_a_new_environment_stops_with_the_same_advice() -> None:
    # `pulumi up` knows the platform only through its outputs: the data layer stops the
    # run with a RunError, which Pulumi prints without a traceback.
    raw = {"pingvas:profile": "dev"}
    config = load_stack_config("staging", raw)
    with pytest.raises(pulumi.RunError) as raised:
        offline.run_offline(
            project=PROJECT,
            stack="staging",
            config=raw,
            secret_keys=[],
            region=config.region,
            stack_outputs={"organization/pingvas/shared": preview_stack("shared").outputs},
            program=lambda: run(config),
        )
    # The first the run meets: the deployer, the database's owner, or Redis's security group.
    assert str(raised.value) in (
        "the platform has no deployer for staging: add staging to pingvas:environments on "
        "the platform stack",
        "invalid stack configuration:\n"
        "pingvas:redis.mode: 'serverless' (ElastiCache) needs the platform's redis-staging "
        "security group: add staging to pingvas:environments in the platform "
        "stack's config and deploy the platform first, or set pingvas:redis.mode to in-cluster",
        "invalid stack configuration:\n"
        "pingvas:environments: the platform has no schema owner for staging: add "
        "staging (with its profile) to pingvas:environments in the platform stack's config "
        "and deploy the platform first (the environment's migrations run as that owner)",
    )
