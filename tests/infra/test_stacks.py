"""Whole stacks: every committed stack runs, environments read the platform, tags apply."""

from __future__ import annotations

import contextlib
import json
import runpy
from collections.abc import Callable
from pathlib import Path

import pulumi
import pytest
import yaml

import pulumi_offline as offline
from infra.config import load_stack_config
from infra.naming import Naming
from pulumi_offline import OfflineRun
from tests.support.stacks import run_stack

REPO = Path(__file__).resolve().parents[2]
TAG_KEYS = {"project", "stack", "environment", "managed-by", "cost-center"}


def default_tags(run: OfflineRun, resource_type: str, name: str) -> dict[str, str]:
    """The tags AWS adds to `name` through the provider it was created with."""
    provider = run.provider_of(run.one(resource_type, name))
    assert provider.type == "pulumi:providers:aws"
    tags: dict[str, str] = json.loads(provider.inputs["defaultTags"])["tags"]
    return tags


@pytest.mark.parametrize("stack", ["dev", "prod", "pr-7"])
def test_environment_reads_the_platform_through_a_stack_reference(
    shared: OfflineRun, stack: str
) -> None:
    run = run_stack(stack)
    (reference,) = run.of_type("pulumi:pulumi:StackReference")
    assert reference.name == "organization/pingvas/shared"
    assert run.outputs["platformStack"] == "organization/pingvas/shared"
    assert run.outputs["vpcId"] == shared.outputs["vpcId"]
    assert run.outputs["privateSubnetIds"] == shared.outputs["privateSubnetIds"]
    assert run.outputs["namespace"] == stack
    assert run.of_type("aws:ec2/vpc:Vpc") == []  # the platform's network, not a copy


def test_environment_outputs_show_the_resolved_spec_settings() -> None:
    prod = run_stack("prod").outputs["settings"]
    assert prod["quota"] == {"cpu": 50, "memory": "200Gi", "gpu": 15, "pods": 200}
    assert prod["priorityClass"] == {"name": "prod-high", "value": 1_000_000}
    assert prod["gpuWorkers"] == {"min": 0, "max": 15}
    assert prod["services"] == {"replicas": 3, "autoscaling": True}


def test_platform_exports_what_environments_need(shared: OfflineRun) -> None:
    outputs = shared.outputs
    assert outputs["vpcCidr"] == "10.0.0.0/16"
    assert outputs["clusterName"] == "pingvas-shared-eks"
    assert outputs["availabilityZones"] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert len(outputs["privateSubnetIds"]) == 3
    groups = outputs["securityGroupIds"]
    assert set(groups) == {"alb", "nodes", "preview-nodes", "rds", "efs", "redis-dev", "redis-prod"}
    for name, group_id in groups.items():
        assert shared.by_id(group_id).name == f"pingvas-shared-{name}"


def test_platform_stack_name_is_configurable(stack_with: Callable[..., OfflineRun]) -> None:
    run = stack_with("dev", {"pingvas:platform": {"stack": "acme/pingvas/shared"}})
    (reference,) = run.of_type("pulumi:pulumi:StackReference")
    assert reference.name == "acme/pingvas/shared"


def test_sandbox_builds_its_own_platform(stack_with: Callable[..., OfflineRun]) -> None:
    run = stack_with(
        "sandbox",
        {
            "pingvas:profile": "dev",
            "pingvas:platform": {"create": True},
            "pingvas:edge": {"domain": "sandbox.example.com"},
        },
    )
    assert run.of_type("pulumi:pulumi:StackReference") == []
    (vpc,) = run.of_type("aws:ec2/vpc:Vpc")
    assert vpc.name == "pingvas-sandbox-vpc"
    assert run.outputs["vpcId"] == vpc.id


@pytest.mark.parametrize(
    ("resource_type", "name"),
    [
        ("aws:ec2/vpc:Vpc", "pingvas-shared-vpc"),
        ("aws:ec2/subnet:Subnet", "pingvas-shared-private-us-east-1b"),
        ("aws:ec2/natGateway:NatGateway", "pingvas-shared-nat-us-east-1a"),
        ("aws:ec2/securityGroup:SecurityGroup", "pingvas-shared-rds"),
        ("aws:cloudwatch/logGroup:LogGroup", "pingvas-shared-flow-logs"),
        ("aws:iam/role:Role", "pingvas-shared-flow-logs"),
    ],
)
def test_sample_resources_carry_the_standard_tags(
    shared: OfflineRun, resource_type: str, name: str
) -> None:
    assert default_tags(shared, resource_type, name) == {
        "project": "pingvas",
        "stack": "shared",
        "environment": "shared",
        "managed-by": "pulumi",
        "cost-center": "platform",  # from Pulumi.shared.yaml
    }


def test_every_aws_resource_uses_the_tagged_provider(shared: OfflineRun) -> None:
    aws_resources = [r for r in shared.resources if r.type.startswith("aws:")]
    providers = {shared.provider_of(r).name for r in aws_resources}
    assert providers == {"pingvas-shared-aws"}


def test_ephemeral_stack_tags_carry_its_ttl() -> None:
    run = run_stack("pr-7")
    provider = run.one("pulumi:providers:aws", "pingvas-pr-7-aws")
    tags = json.loads(provider.inputs["defaultTags"])["tags"]
    assert set(tags) >= TAG_KEYS
    assert tags["environment"] == "pr-7"
    assert tags["ttl-hours"] == "72"


def test_names_follow_the_scheme() -> None:
    naming = Naming("pr-7")
    assert naming.name("images") == "pingvas-pr-7-images"
    bucket = naming.globally_unique("images", "123456789012", "us-east-1")
    assert bucket.startswith("pingvas-pr-7-images-")
    assert bucket == naming.globally_unique("images", "123456789012", "us-east-1")
    assert bucket != naming.globally_unique("images", "210987654321", "us-east-1")
    with pytest.raises(ValueError, match="longer than 63"):
        Naming("pr-123456").globally_unique("a-very-long-bucket-purpose-name-here-too", "1", "x")
    with pytest.raises(ValueError, match="lower-case"):
        naming.name("Images")


def test_pulumi_project_runs_the_stacks_program_without_default_providers() -> None:
    project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
    assert project["name"] == "pingvas"
    assert project["main"] == "stacks/"
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["virtualenv"] == ".venv"
    disabled = project["config"]["pulumi:disable-default-providers"]["value"]
    assert {"aws", "kubernetes"} <= set(disabled)


def run_entry_point(stack: str, config: dict[str, str]) -> OfflineRun:
    """Runs stacks/__main__.py itself, as `pulumi up` does: from inside the directory, with
    config from the engine."""

    def program() -> None:
        runpy.run_path(".", run_name="__main__")

    with contextlib.chdir(REPO / "stacks"):
        return offline.run_offline(
            project="pingvas",
            stack=stack,
            config=config,
            region="us-east-1",
            program=program,
        )


def test_entry_point_builds_the_stack_from_engine_config() -> None:
    run = run_entry_point(
        "shared",
        {
            "pingvas:network": json.dumps({"natMode": "per_az"}),
            "pingvas:edge": json.dumps({"domain": "pingvas.example.com"}),
        },
    )
    assert len(run.of_type("aws:ec2/natGateway:NatGateway")) == 3


def test_entry_point_stops_on_bad_config_before_registering_anything() -> None:
    bad = {"pingvas:network": json.dumps({"natMode": "dual"})}
    with pytest.raises(pulumi.RunError, match=r"pingvas:network\.natMode") as raised:
        run_entry_point("shared", bad)
    assert "Traceback" not in str(raised.value)
    with pytest.raises(Exception, match="natMode"):
        load_stack_config("shared", bad)
