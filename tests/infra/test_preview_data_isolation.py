"""Issue 22, item 6: previews cannot reach the data stores of dev and prod.

A preview's pods run on its own nodes (tainted pools), whose interfaces, and so whose
pods' VPC CNI addresses, carry the `preview-nodes` security group and the EKS cluster
group, never `nodes`. The data stores' groups admit `nodes` alone, so whatever a
preview's deployer writes into its namespace's NetworkPolicies, the VPC drops a
preview pod's packets to Aurora and ElastiCache. Evaluated here over the security group
rules of the offline preview of `shared`: each attack (a preview pod's source) denied,
each control (dev's API on the general nodes; a preview's own paths) allowed."""

from __future__ import annotations

import ipaddress

import pytest

from components.network.vpc import PREVIEW_NODES
from pulumi_offline import OfflineRun

INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def admits(shared: OfflineRun, target: str, sources: set[str], port: int) -> bool:
    """Whether an ingress rule of group `target` lets a packet to `port` in from an
    interface carrying `sources` (group ids) with an address in the VPC."""
    vpc = ipaddress.ip_network(shared.outputs["vpcCidr"])
    for rule in shared.of_type(INGRESS):
        inputs = rule.inputs
        if inputs["securityGroupId"] != target:
            continue
        ports = inputs["ipProtocol"] == "-1" or inputs["fromPort"] <= port <= inputs["toPort"]
        peer = inputs.get("referencedSecurityGroupId")
        if peer is not None:
            source = peer in sources
        else:
            source = ipaddress.ip_network(inputs["cidrIpv4"]).overlaps(vpc)
        if ports and source:
            return True
    return False


def groups(shared: OfflineRun) -> dict[str, str]:
    named: dict[str, str] = shared.outputs["securityGroupIds"]
    return named


def preview_pod(shared: OfflineRun) -> set[str]:
    return {groups(shared)[PREVIEW_NODES], shared.outputs["clusterSecurityGroupId"]}


def general_pod(shared: OfflineRun) -> set[str]:
    return {groups(shared)["nodes"], shared.outputs["clusterSecurityGroupId"]}


@pytest.mark.parametrize(
    ("store", "port"), [("rds", 5432), ("redis-dev", 6379), ("redis-prod", 6379)]
)
def test_a_preview_pod_cannot_reach_the_data_stores(
    shared: OfflineRun, store: str, port: int
) -> None:
    target = groups(shared)[store]
    # Attack: a pr-<N> pod (any port, with or without the namespace's NetworkPolicies).
    assert not admits(shared, target, preview_pod(shared), port)
    assert not admits(shared, target, {shared.outputs["clusterSecurityGroupId"]}, port)
    # Control: dev's (or prod's) API on the general nodes.
    assert admits(shared, target, general_pod(shared), port)


def test_a_preview_keeps_its_own_paths(shared: OfflineRun) -> None:
    """Controls: the ALB reaches a preview's API, its GPU workers mount the models, and
    its pods talk to each other and out."""
    named = groups(shared)
    preview = preview_pod(shared)
    assert admits(shared, named[PREVIEW_NODES], {named["alb"]}, 8001)
    assert admits(shared, named["efs"], preview, 2049)
    assert admits(shared, named[PREVIEW_NODES], preview, 5432)  # its own PostgreSQL pod


def test_the_preview_group_is_not_discovered_by_tag(shared: OfflineRun) -> None:
    """Karpenter's general and GPU classes select `nodes` by the discovery tag; were the
    preview group tagged too, a preview class selecting by tag would get `nodes` with
    it, and general nodes would carry a group they need not."""
    (group,) = [
        g
        for g in shared.of_type("aws:ec2/securityGroup:SecurityGroup")
        if g.id == groups(shared)[PREVIEW_NODES]
    ]
    assert "karpenter.sh/discovery" not in group.inputs["tags"]


def test_no_node_class_with_the_preview_group_carries_a_data_store_peer(
    shared: OfflineRun,
) -> None:
    """A node class that puts preview pods on the preview group must not add `nodes`
    (by id or by its discovery tag): the data stores would admit them again."""
    named = groups(shared)
    for node_class in shared.of_type("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"):
        terms = node_class.inputs["spec"]["securityGroupSelectorTerms"]
        ids = {term.get("id") for term in terms}
        if named[PREVIEW_NODES] in ids:
            assert named["nodes"] not in ids
            assert not any("karpenter.sh/discovery" in term.get("tags", {}) for term in terms)
