"""Replacement cascades: what `pulumi preview` plans for a resource's dependants when the
resource is replaced. The engine's rules, reproduced by tools/diff.py:

- a replaced resource's outputs are unknown during preview, so every input computed from
  them (the RegisterResource request's propertyDependencies) is unknown;
- the provider diffs an unknown input as changed: a ForceNew one (tools/replacements.py)
  replaces the dependant, which cascades again; any other updates it in place;
- a resource whose explicit provider is replaced is replaced (pulumi/pulumi
  pkg/resource/deploy/step_generator.go, providerChanged); pulumi-kubernetes' DiffConfig
  replaces the provider when its kubeconfig is unknown or its active cluster changes, and
  updates it (keeping every object on it) when only the rest changes;
- an update keeps outputs known (ids and ARNs do not change), so it stops the cascade.

Each BASE below is the current preview with one input as it was before the edit, so every
other change shown is the cascade alone.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any

import pytest

from tests.support.stacks import run_stack
from tools import diff, preview

VPC = "aws:ec2/vpc:Vpc"


def cascade(type_token: str, key: str, old_value: Any) -> tuple[diff.StackDiff, dict[str, Any]]:
    current = copy.deepcopy(preview.as_json(run_stack("shared")))
    base = copy.deepcopy(current)
    (edited,) = [r for r in base["resources"] if r["type"] == type_token]
    edited["inputs"][key] = old_value
    return diff.diff(base, current), edited


def kinds(result: diff.StackDiff, kind: str) -> Counter[str]:
    return Counter(change.type for change in result.resources if change.kind == kind)


def reason(result: diff.StackDiff, type_token: str, path: str) -> str:
    change = next(c for c in result.resources if c.type == type_token)
    return diff._shown(next(i.new for i in change.inputs if i.path == path))


def test_moving_the_vpc_cidr_replaces_what_lives_in_it() -> None:
    """aws_vpc's cidr_block is ForceNew. Subnets, route tables, security groups and VPC
    endpoints take the VPC's id as their ForceNew vpc_id; NAT gateways, mount targets
    and route table associations take a subnet's id as a ForceNew subnet_id. The
    Internet gateway's vpc_id, a DB subnet group's subnet_ids and an Aurora cluster's
    security groups update in place."""
    result, vpc = cascade(VPC, "cidrBlock", "10.9.0.0/16")
    replaced, updated = kinds(result, "replace"), kinds(result, "update")
    assert replaced[VPC] == 1
    for type_token in (
        "aws:ec2/subnet:Subnet",
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/natGateway:NatGateway",
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "aws:efs/mountTarget:MountTarget",
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "eks:index:Cluster",  # its subnets are new: a new EKS cluster
    ):
        assert replaced[type_token] == len(run_stack("shared").of_type(type_token)), type_token
    for type_token in (
        "aws:ec2/internetGateway:InternetGateway",
        "aws:rds/subnetGroup:SubnetGroup",
        "aws:rds/cluster:Cluster",
    ):
        assert updated[type_token] == 1, type_token
    assert reason(result, "aws:ec2/subnet:Subnet", "vpcId") == f"<replaced {VPC} {vpc['name']}>"
    text = diff.as_text(result)
    assert f'vpcId: "{vpc["id"]}" → <replaced {VPC} {vpc["name"]}>  (forces replacement)' in text
    cascaded = len(result.resources) - 1
    assert result.summary().endswith(f"({cascaded} from replacements)")
    # The EIPs only hold an address: nothing of theirs comes from the VPC.
    assert "aws:ec2/eip:Eip" not in kinds(result, "replace") | kinds(result, "update")


def test_renaming_the_cluster_replaces_the_kubernetes_provider_and_its_objects() -> None:
    """EKS's cluster name is ForceNew: a new cluster, so a new kubeconfig and OIDC issuer.
    The Kubernetes provider's kubeconfig is unknown, so DiffConfig replaces it, and the
    engine replaces every object it manages; the Pod Identity association's cluster_name
    is ForceNew; IAM trust policies naming the OIDC provider update in place."""
    result, cluster = cascade("eks:index:Cluster", "name", "pingvas-old-eks")
    replaced = kinds(result, "replace")
    assert replaced["pulumi:providers:kubernetes"] == 1
    managed = [
        r
        for r in run_stack("shared").resources
        if r.provider and r.provider.startswith(provider_urn(result))
    ]
    assert managed
    assert all(replaced[r.type] for r in managed)
    assert sum(n for t, n in replaced.items() if t.startswith("kubernetes:")) == len(managed)
    assert replaced["aws:eks/podIdentityAssociation:PodIdentityAssociation"] >= 1
    assert kinds(result, "update")["aws:iam/role:Role"] >= 1
    provider = next(c for c in result.resources if c.type == "pulumi:providers:kubernetes")
    assert [(i.path, str(i.new)) for i in provider.inputs] == [
        ("kubeconfig", f"<replaced eks:index:Cluster {cluster['name']}>")
    ]
    # Nothing the cluster does not feed changes: the VPC and its subnets stay.
    assert not {VPC, "aws:ec2/subnet:Subnet"} & {c.type for c in result.resources}


def provider_urn(result: diff.StackDiff) -> str:
    return next(c.urn for c in result.resources if c.type == "pulumi:providers:kubernetes")


def test_changing_the_aurora_engine_replaces_its_instances() -> None:
    """aws_rds_cluster's engine is ForceNew; its instances take cluster_identifier from it
    (ForceNew), and the secret versions that embed its endpoint are replaced (a
    secret_string change is ForceNew here); the migration job and the ExternalSecret
    reading the endpoint update in place. The VPC and the EKS cluster stay."""
    result, aurora = cascade("aws:rds/cluster:Cluster", "engine", "aurora-mysql")
    replaced = kinds(result, "replace")
    assert replaced["aws:rds/cluster:Cluster"] == 1
    instances = run_stack("shared").of_type("aws:rds/clusterInstance:ClusterInstance")
    assert replaced["aws:rds/clusterInstance:ClusterInstance"] == len(instances) > 0
    assert reason(result, "aws:rds/clusterInstance:ClusterInstance", "clusterIdentifier") == (
        f"<replaced aws:rds/cluster:Cluster {aurora['name']}>"
    )
    assert not {VPC, "eks:index:Cluster"} & {c.type for c in result.resources}


def test_an_update_does_not_cascade() -> None:
    """Control: an in-place change keeps the resource's outputs known."""
    result, _ = cascade(VPC, "tags", {"Name": "old"})
    assert [(c.kind, c.type) for c in result.resources] == [("update", VPC)]
    assert result.summary() == "~1"


def kubeconfig_edited(stack: str, edit: Any) -> diff.StackDiff:
    """The stack's diff from a BASE whose Kubernetes provider had the kubeconfig `edit`
    makes of the current one."""
    current = copy.deepcopy(preview.as_json(run_stack(stack)))
    base = copy.deepcopy(current)
    (provider,) = [r for r in base["resources"] if r["type"] == "pulumi:providers:kubernetes"]
    kubeconfig = json.loads(provider["inputs"]["kubeconfig"])
    edit(kubeconfig)
    provider["inputs"]["kubeconfig"] = json.dumps(kubeconfig)
    return diff.diff(base, current)


@pytest.mark.parametrize("stack", ["dev", "pr-7", "prod"])
def test_signing_as_another_identity_updates_the_provider_and_replaces_nothing(
    stack: str,
) -> None:
    """The state's kubeconfig signed with `--role-arn` of the deployer (or, for a preview,
    AWS_PROFILE); the program's signs with `--profile` (deployer_kubeconfig.py). Only the
    kubeconfig's user changes, not its active cluster, so DiffConfig plans an update: no
    Kubernetes object is replaced."""

    def as_before(kubeconfig: dict[str, Any]) -> None:
        command = kubeconfig["users"][0]["user"]["exec"]
        profile = command["args"][-1]
        command["args"] = command["args"][:-2]
        if stack.startswith("pr-"):
            command["env"] = [{"name": "AWS_PROFILE", "value": profile}]
        else:
            role = f"arn:aws:iam::123456789012:role/pingvas-shared-deployer-{stack}"
            command["args"][4:4] = ["--role-arn", role]

    result = kubeconfig_edited(stack, as_before)
    assert [(c.kind, c.type) for c in result.resources] == [
        ("update", "pulumi:providers:kubernetes")
    ]
    (change,) = result.resources
    assert change.inputs
    assert all(i.path.startswith("kubeconfig.users[0]") for i in change.inputs)


def test_pointing_the_kubeconfig_at_another_cluster_replaces_every_object() -> None:
    """Control: another server is another cluster; the provider and every object on it
    are replaced."""

    def other_cluster(kubeconfig: dict[str, Any]) -> None:
        kubeconfig["clusters"][0]["cluster"]["server"] = "https://OTHER.eks.amazonaws.com"

    result = kubeconfig_edited("dev", other_cluster)
    replaced = kinds(result, "replace")
    assert replaced["pulumi:providers:kubernetes"] == 1
    objects = [r for r in run_stack("dev").resources if r.type.startswith("kubernetes:")]
    assert objects
    assert sum(n for t, n in replaced.items() if t.startswith("kubernetes:")) == len(objects)
    assert kinds(result, "update") == Counter()


def test_another_context_naming_the_same_cluster_is_an_update() -> None:
    """DiffConfig compares the active cluster, not the context's name."""

    def renamed_context(kubeconfig: dict[str, Any]) -> None:
        kubeconfig["contexts"][0]["name"] = kubeconfig["current-context"] = "old"

    result = kubeconfig_edited("dev", renamed_context)
    assert [c.kind for c in result.resources] == ["update"]
