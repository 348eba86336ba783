"""SPEC §3 compute: the EKS cluster, Karpenter, add-ons (shared stack)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from components import chart_versions
from components.cluster.platform_namespaces import PLATFORM_NAMESPACES
from pulumi_offline import OfflineRun, RecordedResource
from tests.support.crds import crd_errors
from tests.support.preview import RELEASE, custom_resource, policies_of_role, release

NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"


def cluster(run: OfflineRun) -> RecordedResource:
    (eks,) = run.of_type("eks:index:Cluster")
    return eks


def test_cluster_control_plane(shared: OfflineRun) -> None:
    inputs = cluster(shared).inputs
    assert inputs["name"] == "pingvas-shared-eks"
    assert inputs["version"] == "1.35"
    assert inputs["authenticationMode"] == "API"
    assert inputs["endpointPrivateAccess"] is True
    assert inputs["endpointPublicAccess"] is False  # no CIDRs configured: private only
    assert set(inputs["enabledClusterLogTypes"]) == {
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
    }
    assert inputs["createOidcProvider"] is True
    assert inputs["skipDefaultNodeGroup"] is True
    assert inputs["vpcCniOptions"]["enableNetworkPolicy"] is True
    assert inputs["corednsAddonOptions"]["enabled"] is True
    assert inputs["kubeProxyAddonOptions"]["enabled"] is True
    assert inputs["privateSubnetIds"] == shared.outputs["privateSubnetIds"]
    key = shared.one("aws:kms/key:Key", "pingvas-shared-eks-secrets")
    assert inputs["encryptionConfigKeyArn"] == f"arn:aws:kms:us-east-1:123456789012:key/{key.id}"
    assert key.inputs["enableKeyRotation"] is True
    log_group = shared.one("aws:cloudwatch/logGroup:LogGroup", "pingvas-shared-eks-control-plane")
    assert log_group.inputs["name"] == "/aws/eks/pingvas-shared-eks/cluster"


def test_public_endpoint_and_admins_come_from_config(
    stack_with: Callable[..., OfflineRun],
) -> None:
    admin = "arn:aws:iam::123456789012:role/platform-admin"
    run = stack_with(
        "shared",
        {"pingvas:cluster": {"publicAccessCidrs": ["84.17.32.0/24"], "adminRoleArns": [admin]}},
    )
    inputs = cluster(run).inputs
    assert inputs["endpointPublicAccess"] is True
    assert inputs["publicAccessCidrs"] == ["84.17.32.0/24"]
    (entry,) = inputs["accessEntries"].values()
    assert entry["principalArn"] == admin
    (association,) = entry["accessPolicies"].values()
    assert association["policyArn"].endswith(":cluster-access-policy/AmazonEKSClusterAdminPolicy")
    assert association["accessScope"] == {"type": "cluster"}


def test_system_node_group_is_two_spot_t3_medium(shared: OfflineRun) -> None:
    (group,) = shared.of_type("aws:eks/nodeGroup:NodeGroup")
    inputs = group.inputs
    assert inputs["clusterName"] == "pingvas-shared-eks"
    assert inputs["instanceTypes"] == ["t3.medium"]
    assert inputs["capacityType"] == "SPOT"
    assert inputs["scalingConfig"] == {"desiredSize": 2, "minSize": 2, "maxSize": 3}
    assert inputs["labels"] == {"role": "system"}
    zones = [shared.by_id(subnet).inputs["availabilityZone"] for subnet in inputs["subnetIds"]]
    assert zones == ["us-east-1a", "us-east-1b"]
    template = shared.by_id(inputs["launchTemplate"]["id"]).inputs
    assert template["metadataOptions"]["httpTokens"] == "required"
    assert template["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"
    groups = set(template["vpcSecurityGroupIds"])
    assert shared.outputs["securityGroupIds"]["nodes"] in groups
    assert shared.outputs["clusterSecurityGroupId"] in groups
    tags = template["tagSpecifications"][0]["tags"]
    assert tags["cost-center"] == "platform"  # instances carry the stack's tags too


def test_managed_addons_with_their_roles(shared: OfflineRun) -> None:
    addons = {a.inputs["addonName"]: a for a in shared.of_type("aws:eks/addon:Addon")}
    assert set(addons) == {"eks-pod-identity-agent", "aws-ebs-csi-driver", "aws-efs-csi-driver"}
    for name, account, policy in [
        ("aws-ebs-csi-driver", "ebs-csi-controller-sa", "AmazonEBSCSIDriverPolicy"),
        ("aws-efs-csi-driver", "efs-csi-controller-sa", "AmazonEFSCSIDriverPolicy"),
    ]:
        (association,) = addons[name].inputs["podIdentityAssociations"]
        assert association["serviceAccount"] == account
        role = next(
            r for r in shared.of_type("aws:iam/role:Role") if association["roleArn"].endswith(r.id)
        )
        attached = [
            a.inputs["policyArn"]
            for a in shared.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if a.inputs["role"] == role.inputs.get("name", f"{role.name}-{role.id[-7:]}")
        ]
        assert attached == [f"arn:aws:iam::aws:policy/service-role/{policy}"]
        trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
        assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}


def test_storage_classes(shared: OfflineRun) -> None:
    classes = {
        c.inputs["metadata"]["name"]: c.inputs
        for c in shared.of_type("kubernetes:storage.k8s.io/v1:StorageClass")
    }
    gp3 = classes["gp3"]
    assert gp3["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert gp3["parameters"] == {"type": "gp3", "encrypted": "true"}
    assert gp3["volumeBindingMode"] == "WaitForFirstConsumer"
    efs = classes["efs-models"]
    assert efs["provisioner"] == "efs.csi.aws.com"
    assert efs["parameters"]["provisioningMode"] == "efs-ap"
    assert efs["parameters"]["fileSystemId"] == shared.outputs["modelStoreFileSystemId"]


def test_every_custom_resource_validates_against_its_crd(shared: OfflineRun) -> None:
    resources = shared.of_type(NODE_POOL) + shared.of_type(NODE_CLASS)
    # Three weighted GPU pools, general, the two preview pools; four node classes.
    assert len(resources) == 10
    for resource in resources:
        assert crd_errors(custom_resource(resource)) == [], resource.name


def test_crd_validation_catches_mistakes(shared: OfflineRun) -> None:
    pool = custom_resource(shared.of_type(NODE_POOL)[0])
    pool["spec"]["template"]["spec"]["taint"] = pool["spec"]["template"]["spec"].pop("taints", [])
    pool["spec"]["limits"] = {"nvidia.com/gpu": 1.5}
    errors = crd_errors(pool)
    assert any("'taint' was unexpected" in error for error in errors)
    assert any(error.startswith("spec/limits/nvidia.com/gpu: 1.5") for error in errors)


@pytest.mark.parametrize(
    ("name", "chart"),
    [
        ("nvidia-device-plugin", chart_versions.NVIDIA_DEVICE_PLUGIN),
        ("dcgm-exporter", chart_versions.DCGM_EXPORTER),
        ("aws-load-balancer-controller", chart_versions.AWS_LOAD_BALANCER_CONTROLLER),
        ("keda", chart_versions.KEDA),
        ("metrics-server", chart_versions.METRICS_SERVER),
    ],
)
def test_addon_charts_are_pinned(shared: OfflineRun, name: str, chart: Any) -> None:
    found = release(shared, name)
    assert found.inputs["chart"] == chart.name
    assert found.inputs["version"] == chart.version
    assert found.inputs["repositoryOpts"]["repo"] == chart.repository


@pytest.mark.parametrize("name", ["nvidia-device-plugin", "dcgm-exporter"])
def test_gpu_daemons_run_only_on_gpu_nodes(shared: OfflineRun, name: str) -> None:
    values = release(shared, name).inputs["values"]
    assert values["nodeSelector"] == {"workload-type": "gpu"}
    assert values["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]


@pytest.mark.parametrize("name", ["aws-load-balancer-controller", "keda", "metrics-server"])
def test_controllers_run_on_system_nodes(shared: OfflineRun, name: str) -> None:
    assert release(shared, name).inputs["values"]["nodeSelector"] == {"role": "system"}


def test_load_balancer_controller_writes_only_what_it_tagged(shared: OfflineRun) -> None:
    values = release(shared, "aws-load-balancer-controller").inputs["values"]
    assert values["clusterName"] == "pingvas-shared-eks"
    assert values["vpcId"] == shared.outputs["vpcId"]
    role = shared.one("aws:iam/role:Role", "pingvas-shared-addons-load-balancer-controller")
    (policy,) = policies_of_role(shared, role)
    guarded = {
        "elasticloadbalancing:DeleteLoadBalancer",
        "elasticloadbalancing:DeleteTargetGroup",
        "elasticloadbalancing:ModifyLoadBalancerAttributes",
        "elasticloadbalancing:ModifyTargetGroup",
        "ec2:DeleteSecurityGroup",
    }
    seen = set()
    for statement in policy["Statement"]:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        for action in guarded.intersection(actions):
            seen.add(action)
            assert statement["Condition"] == {
                "Null": {"aws:ResourceTag/elbv2.k8s.aws/cluster": "false"}
            }, action
    assert seen == guarded


def test_no_iam_policy_allows_everything(shared: OfflineRun) -> None:
    for policy in shared.of_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            if statement["Effect"] == "Deny":
                continue  # denies (the deploy roles' guard rails use NotAction) grant nothing
            assert "NotAction" not in statement, policy.name  # an Allow of all but a few
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            resources = (
                statement["Resource"]
                if isinstance(statement["Resource"], list)
                else [statement["Resource"]]
            )
            assert not ("*" in actions and "*" in resources), policy.name
            assert not any(action.endswith(":*") for action in actions), policy.name


def test_platform_namespaces_carry_pod_security_levels(shared: OfflineRun) -> None:
    levels = {
        n.inputs["metadata"]["name"]: n.inputs["metadata"]["labels"][
            "pod-security.kubernetes.io/enforce"
        ]
        for n in shared.of_type("kubernetes:core/v1:Namespace")
    }
    assert levels == {
        "argocd": "baseline",
        "monitoring": "privileged",
        "karpenter": "restricted",
        "keda": "restricted",
        "external-secrets": "restricted",
        "database-admin": "restricted",
        "preview-edge": "restricted",  # the previews' anchor Ingress only: no pods
    }


def test_platform_namespaces_deny_by_default_and_allow_what_each_needs(
    shared: OfflineRun,
) -> None:
    policies: dict[str, dict[str, Any]] = {}
    for policy in shared.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy"):
        metadata = policy.inputs["metadata"]
        policies.setdefault(metadata["namespace"], {})[metadata["name"]] = policy.inputs["spec"]
    assert set(PLATFORM_NAMESPACES) <= set(policies)  # monitoring also guards kube-system
    for namespace in PLATFORM_NAMESPACES:
        found = policies[namespace]
        assert found["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        egress = found["platform-allowed"]["egress"]
        assert {
            "to": [{"ipBlock": {"cidr": "169.254.170.23/32"}}],
            "ports": [{"protocol": "TCP", "port": 80}],
        } in egress, namespace
    database_admin = policies["database-admin"]["platform-allowed"]["egress"]
    assert {
        "to": [
            {"ipBlock": {"cidr": cidr}} for cidr in ("10.0.11.0/24", "10.0.12.0/24", "10.0.13.0/24")
        ],
        "ports": [{"protocol": "TCP", "port": 5432}],
    } in database_admin
    # No add-on creates its own namespace through Helm.
    for add_on in shared.of_type(RELEASE):
        assert not add_on.inputs.get("createNamespace"), add_on.name


def test_kubernetes_resources_use_the_cluster_provider(shared: OfflineRun) -> None:
    for resource in shared.resources:
        if resource.type.startswith("kubernetes:"):
            assert shared.provider_of(resource).name == "pingvas-shared-eks-k8s"


def test_external_secrets_controller_reads_no_secret_itself(shared: OfflineRun) -> None:
    """No cluster-wide store (issue 12, guarantee 2): the controller may only assume the
    namespaces' store roles."""
    assert shared.of_type("kubernetes:external-secrets.io/v1:ClusterSecretStore") == []
    role = shared.one("aws:iam/role:Role", "pingvas-shared-addons-external-secrets")
    (policy,) = policies_of_role(shared, role)
    (assume,) = policy["Statement"]
    assert assume == {
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Resource": "arn:aws:iam::123456789012:role/pingvas-*-secret-store-*",
    }
    values = release(shared, "external-secrets").inputs
    assert values["version"] == chart_versions.EXTERNAL_SECRETS.version
    assert values["values"]["processClusterStore"] is False
    assert shared.outputs["externalSecretsRoleArn"].endswith(role.id)


def test_schema_owners_are_bootstrapped_by_the_platform_alone(shared: OfflineRun) -> None:
    """Guarantee 1: the platform creates dev's and prod's owners with the master secret,
    which only its database-admin store reads."""
    master = next(
        s for s in shared.of_type("aws:rds/cluster:Cluster") if s.name == "pingvas-shared-aurora"
    )
    assert master.inputs["manageMasterUserPassword"] is True
    secrets = {s.inputs["name"]: s for s in shared.of_type("aws:secretsmanager/secret:Secret")}
    for environment in ("dev", "prod"):
        assert f"pingvas-shared-{environment}-schema-owner" in secrets
    store = shared.one("aws:iam/role:Role", "pingvas-shared-schema-owners-secret-store")
    (policy,) = policies_of_role(shared, store)
    read = policy["Statement"][0]
    assert read["Resource"][0].startswith("arn:aws:secretsmanager:us-east-1:")
    assert ":secret:rds!" in read["Resource"][0]
    assert len(read["Resource"]) == 3  # the master and the two owners' secrets
    (job,) = shared.of_type("kubernetes:batch/v1:Job")
    assert job.inputs["metadata"]["namespace"] == "database-admin"
    (container,) = job.inputs["spec"]["template"]["spec"]["containers"]
    script = container["command"][-1]
    assert 'owner="dev_pingvas_owner"' in script
    assert 'owner="prod_pingvas_owner"' in script
    for kind in ("SecretStore", "ExternalSecret"):
        for resource in shared.of_type(f"kubernetes:external-secrets.io/v1:{kind}"):
            assert crd_errors(custom_resource(resource)) == [], resource.name


def test_a_new_long_lived_environment_is_declared_on_the_platform(
    stack_with: Callable[..., OfflineRun],
) -> None:
    environments = {"dev": "dev", "prod": "prod", "staging": "prod"}
    pool = {"gpuNodePool": {"gpuLimit": 33}}  # room for staging's 15 GPU workers too
    run = stack_with("shared", {"pingvas:environments": environments, "pingvas:cluster": pool})
    assert set(run.outputs["schemaOwnerSecretArns"]) == {"dev", "prod", "staging"}
    assert set(run.outputs["deployerRoleArns"]) >= {"dev", "prod", "staging"}


def test_environment_namespaces_are_guarded_at_admission(shared: OfflineRun) -> None:
    policies = {
        p.inputs["metadata"]["name"]: p.inputs["spec"]
        for p in shared.of_type(
            "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
        )
        if p.name.startswith("pingvas-shared-admission-")  # not the previews' own
    }
    assert set(policies) == {
        "pingvas-ingress-hosts",
        "pingvas-secret-stores",
        "pingvas-service-types",
        "pingvas-monitors",
        "pingvas-preview-nodes",
        "pingvas-external-ips",
    }
    for spec in policies.values():
        assert spec["failurePolicy"] == "Fail"
    bindings = [
        b
        for b in shared.of_type(
            "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
        )
        if b.name.startswith("pingvas-shared-admission-")
    ]
    assert {b.inputs["spec"]["policyName"] for b in bindings} == set(policies)
    for binding in bindings:
        spec = binding.inputs["spec"]
        assert spec["validationActions"] == ["Deny"]
        if spec["policyName"] == "pingvas-external-ips":  # every namespace (CVE-2020-8554)
            assert "matchResources" not in spec
            continue
        selectors = spec["matchResources"]["namespaceSelector"]["matchExpressions"]
        assert selectors[0] == {"key": "pingvas.io/environment", "operator": "Exists"}
        # Previews' Ingress hosts are the preview edge's policy's (one host each).
        excluded = [s["key"] for s in selectors[1:] if s["operator"] == "DoesNotExist"]
        preview_only = spec["policyName"] == "pingvas-ingress-hosts"
        assert excluded == (["pingvas.io/preview"] if preview_only else [])
