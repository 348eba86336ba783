"""The offline preview command, as users and CI run it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.support.stacks import run_stack
from tools.preview import as_tree

REPO = Path(__file__).resolve().parents[2]


def preview(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.preview", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_json_preview_of_shared_is_the_spec_network() -> None:
    result = preview("shared", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["project"], document["stack"]) == ("pingvas", "shared")
    resources = document["resources"]
    for resource in resources:
        assert set(resource) >= {"urn", "type", "name", "id", "parent", "inputs"}
    ids = [r["id"] for r in resources]
    assert len(ids) == len(set(ids))
    counts = Counter(r["type"] for r in resources)
    assert counts["aws:ec2/vpc:Vpc"] == 1
    assert counts["aws:ec2/subnet:Subnet"] == 6
    assert counts["aws:ec2/natGateway:NatGateway"] == 1
    (vpc,) = [r for r in resources if r["type"] == "aws:ec2/vpc:Vpc"]
    assert vpc["inputs"]["cidrBlock"] == "10.0.0.0/16"
    by_id = {r["id"]: r for r in resources}
    ports = {
        (by_id[r["inputs"]["securityGroupId"]]["name"], r["inputs"].get("fromPort"))
        for r in resources
        if r["type"].startswith("aws:vpc/securityGroup")
    }
    assert ("pingvas-shared-rds", 5432) in ports
    assert ("pingvas-shared-efs", 2049) in ports
    assert document["outputs"]["vpcId"] == vpc["id"]


@pytest.mark.parametrize("stack", ["dev", "prod", "pr-7"])
def test_environment_stacks_preview_cleanly(stack: str) -> None:
    result = preview(stack)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"pingvas/{stack}: ")
    assert "pulumi:pulumi:StackReference  organization/pingvas/shared" in result.stdout
    # Progress only: no warning or log line.
    assert re.fullmatch(rf"previewed {stack} \(1/1, \d+ resources, [\d.]+ s\)\n", result.stderr)


def test_bad_config_file_exits_non_zero_naming_the_key(tmp_path: Path) -> None:
    config_file = tmp_path / "Pulumi.candidate.yaml"
    config_file.write_text("config:\n  pingvas:quota:\n    cpu: -2\n")
    result = preview("dev", "--config-file", str(config_file))
    assert result.returncode == 2
    assert result.stdout == ""  # nothing was previewed
    assert "pingvas:quota.cpu" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_file_replaces_the_stacks_own(tmp_path: Path) -> None:
    config_file = tmp_path / "candidate.yaml"
    config_file.write_text(
        "config:\n  pingvas:edge:\n    domain: x.example.com\n"
        "  pingvas:network:\n    natMode: per_az\n"
    )
    result = preview("shared", "--json", "--config-file", str(config_file))
    assert result.returncode == 0, result.stderr
    types = Counter(r["type"] for r in json.loads(result.stdout)["resources"])
    assert types["aws:ec2/natGateway:NatGateway"] == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [("config: [1, 2]", "'config' must be a mapping"), ("config: {a: [", "not valid YAML")],
)
def test_malformed_config_file_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    config_file = tmp_path / "broken.yaml"
    config_file.write_text(content)
    result = preview("shared", "--config-file", str(config_file))
    assert result.returncode == 2
    assert message in result.stderr


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    result = preview("shared", "--config-file", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert "no such file" in result.stderr


def test_secure_values_are_shown_as_secrets(tmp_path: Path) -> None:
    config_file = tmp_path / "Pulumi.dev.yaml"
    config_file.write_text("config:\n  pingvas:costCenter:\n    secure: v1:abcdef\n")
    result = preview("dev", "--json", "--config-file", str(config_file))
    assert result.returncode == 0, result.stderr
    (provider,) = [
        r for r in json.loads(result.stdout)["resources"] if r["name"] == "pingvas-dev-aws"
    ]
    assert "v1:abcdef" not in result.stdout
    assert json.loads(provider["inputs"]["defaultTags"])["tags"]["cost-center"] == "[secret]"


def test_tree_nests_children_under_components_and_counts_types() -> None:
    tree = as_tree(run_stack("shared")).splitlines()
    assert tree[0].startswith("pingvas/shared: ")
    component = tree.index("  pingvas:network:Network  pingvas-shared")
    vpc_line = next(line for line in tree if "aws:ec2/vpc:Vpc  pingvas-shared-vpc" in line)
    assert vpc_line.startswith("    ")  # one level below the component
    assert tree.index(vpc_line) > component
    assert "cidrBlock=10.0.0.0/16" in vpc_line
    nat_route = next(line for line in tree if "pingvas-shared-private-default" in line)
    assert "natGatewayId=pingvas-shared-nat-us-east-1a" in nat_route  # ids shown as names
    assert "     6  aws:ec2/subnet:Subnet" in tree
