"""Which inputs a provider cannot update in place: a change to one replaces the resource.

Pulumi's package schemas do not carry this for bridged providers (pulumi-aws, pulumi-random,
pulumi-tls: the installed SDKs ship no schema, and the flag lives in the provider binary),
so it is a table, each entry from its source:

- `aws:*`: the Terraform AWS provider's resource schema, `ForceNew: true`, shown as
  "Forces new resource" on each resource's page of
  https://registry.terraform.io/providers/hashicorp/aws/latest/docs (pulumi-aws bridges it);
- `kubernetes:*`: pulumi-kubernetes replaces an object whose name or namespace changes
  (provider/pkg/provider/provider.go `Diff`), and a Helm release whose name or namespace does;
- `pulumi:providers:kubernetes`: the provider's `DiffConfig`
  (pulumi/pulumi-kubernetes provider/pkg/provider/provider.go, with
  `getActiveClusterFromConfig` in util.go) replaces it only when its kubeconfig, context or
  cluster input is unknown (its cluster is being replaced), or when the active cluster (the
  `clusters` entry that the current context names: server, CA, TLS settings) differs;
  a change to the user (how the token is signed) or to anything else is an update, which
  keeps the provider and every resource on it (`active_cluster_changed`);
- `eks:index:Cluster`: pulumi-eks's component; its inputs listed here reach the
  `aws:eks/cluster:Cluster` inside it as ForceNew arguments (name, roleArn,
  vpcConfig.subnetIds, encryptionConfig), so its outputs (kubeconfig, OIDC provider, cluster
  security group) are new;
- `random:*`, `tls:*`: every input of these providers' resources is ForceNew.

tests/tools/test_diff.py fails when the program uses a type that is not listed here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import yaml

# Inputs that force a replacement, for every provider resource type the program creates:
# the provider's ForceNew / replaceOnChanges properties that we set. A path matches a
# changed input at that path or below it; "*" means any input (the resource has no update).
# An empty tuple means every input we set updates in place.
REPLACED_BY: dict[str, tuple[str, ...]] = {
    "aws:acm/certificate:Certificate": (
        "domainName",
        "subjectAlternativeNames",
        "validationMethod",
        "keyAlgorithm",
    ),
    "aws:acm/certificateValidation:CertificateValidation": ("*",),
    "aws:backup/plan:Plan": ("name",),
    "aws:backup/selection:Selection": ("*",),
    "aws:backup/vault:Vault": ("name", "kmsKeyArn"),
    "aws:backup/vaultNotifications:VaultNotifications": ("*",),
    "aws:backup/vaultPolicy:VaultPolicy": ("backupVaultName",),
    "aws:budgets/budget:Budget": ("name", "namePrefix", "accountId"),
    "aws:cloudtrail/trail:Trail": ("name",),
    "aws:cloudfront/distribution:Distribution": (),
    "aws:cloudfront/originAccessControl:OriginAccessControl": (),
    "aws:cloudfront/keyGroup:KeyGroup": (),
    "aws:cloudfront/publicKey:PublicKey": ("encodedKey", "name", "namePrefix"),
    "aws:cloudwatch/eventRule:EventRule": ("name", "namePrefix", "eventBusName"),
    "aws:cloudwatch/eventTarget:EventTarget": ("rule", "targetId", "eventBusName"),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "namePrefix", "logGroupClass"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("name",),
    "aws:costexplorer/anomalyMonitor:AnomalyMonitor": (
        "monitorType",
        "monitorDimension",
        "monitorSpecification",
    ),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": ("vpcId",),
    "aws:ec2/eip:Eip": ("domain", "networkBorderGroup", "publicIpv4Pool"),
    "aws:ec2/flowLog:FlowLog": ("*",),
    "aws:ec2/internetGateway:InternetGateway": (),
    "aws:ec2/launchTemplate:LaunchTemplate": ("name", "namePrefix"),
    "aws:ec2/natGateway:NatGateway": (
        "allocationId",
        "subnetId",
        "connectivityType",
        "privateIp",
    ),
    "aws:ec2/route:Route": (
        "routeTableId",
        "destinationCidrBlock",
        "destinationIpv6CidrBlock",
        "destinationPrefixListId",
    ),
    "aws:ec2/routeTable:RouteTable": ("vpcId",),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ("subnetId", "gatewayId"),
    "aws:ec2/securityGroup:SecurityGroup": ("name", "namePrefix", "description", "vpcId"),
    "aws:ec2/tag:Tag": ("resourceId", "key"),
    "aws:ec2/subnet:Subnet": ("vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId"),
    "aws:ec2/vpc:Vpc": ("cidrBlock", "ipv4IpamPoolId"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("vpcId", "serviceName", "vpcEndpointType"),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": ("repository",),
    "aws:ecr/repository:Repository": ("name", "encryptionConfigurations"),
    "aws:efs/accessPoint:AccessPoint": ("fileSystemId", "posixUser", "rootDirectory"),
    "aws:efs/backupPolicy:BackupPolicy": ("fileSystemId",),
    "aws:efs/fileSystem:FileSystem": (
        "creationToken",
        "encrypted",
        "kmsKeyId",
        "performanceMode",
        "availabilityZoneName",
    ),
    "aws:efs/fileSystemPolicy:FileSystemPolicy": ("fileSystemId",),
    "aws:efs/mountTarget:MountTarget": ("fileSystemId", "subnetId", "ipAddress"),
    "aws:eks/accessEntry:AccessEntry": ("clusterName", "principalArn", "type"),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": ("*",),
    "aws:eks/addon:Addon": ("clusterName", "addonName"),
    "aws:eks/nodeGroup:NodeGroup": (
        "clusterName",
        "nodeGroupName",
        "nodeGroupNamePrefix",
        "nodeRoleArn",
        "subnetIds",
        "instanceTypes",
        "capacityType",
        "amiType",
        "diskSize",
        "remoteAccess",
    ),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": (
        "clusterName",
        "namespace",
        "serviceAccount",
    ),
    "aws:elasticache/replicationGroup:ReplicationGroup": (
        "replicationGroupId",
        "atRestEncryptionEnabled",
        "kmsKeyId",
        "subnetGroupName",
        "preferredCacheClusterAzs",
    ),
    "aws:elasticache/serverlessCache:ServerlessCache": (
        "name",
        "kmsKeyId",
        "subnetIds",
        "snapshotArnsToRestores",
    ),
    "aws:elasticache/subnetGroup:SubnetGroup": ("name",),
    "aws:elasticache/user:User": ("userId", "userName"),
    "aws:elasticache/userGroup:UserGroup": ("userGroupId", "engine"),
    "aws:guardduty/detector:Detector": (),
    "aws:guardduty/detectorFeature:DetectorFeature": ("detectorId", "name"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": ("url",),
    "aws:iam/policy:Policy": ("name", "namePrefix", "path", "description"),
    "aws:iam/role:Role": ("name", "namePrefix", "path"),
    "aws:iam/rolePolicy:RolePolicy": ("name", "namePrefix", "role"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("role", "policyArn"),
    "aws:kms/alias:Alias": ("name", "namePrefix"),
    "aws:kms/key:Key": ("customerMasterKeySpec", "keyUsage", "multiRegion", "xksKeyId"),
    "aws:rds/cluster:Cluster": (
        "clusterIdentifier",
        "clusterIdentifierPrefix",
        "engine",
        "engineMode",
        "databaseName",
        "masterUsername",
        "availabilityZones",
        "dbSubnetGroupName",
        "storageEncrypted",
        "kmsKeyId",
    ),
    "aws:rds/clusterInstance:ClusterInstance": (
        "identifier",
        "identifierPrefix",
        "clusterIdentifier",
        "engine",
        "availabilityZone",
        "dbSubnetGroupName",
    ),
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": ("name", "namePrefix", "family"),
    "aws:rds/subnetGroup:SubnetGroup": ("name", "namePrefix"),
    "aws:rds/eventSubscription:EventSubscription": ("name", "namePrefix"),
    "aws:route53/record:Record": ("zoneId", "name", "type", "setIdentifier"),
    "aws:route53/zone:Zone": ("name",),
    "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock": ("accountId",),
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix", "objectLockEnabled"),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ("bucket",),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ("bucket",),
    "aws:s3/bucketPolicy:BucketPolicy": ("bucket",),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ("bucket",),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "bucket",
    ),
    "aws:s3/bucketVersioning:BucketVersioning": ("bucket",),
    "aws:secretsmanager/secret:Secret": ("name", "namePrefix"),
    "aws:secretsmanager/secretVersion:SecretVersion": ("secretId", "secretString"),
    "aws:sns/topic:Topic": ("name", "namePrefix", "fifoTopic"),
    "aws:sns/topicPolicy:TopicPolicy": ("arn",),
    "aws:sqs/queue:Queue": ("name", "namePrefix", "fifoQueue"),
    "aws:sqs/queuePolicy:QueuePolicy": ("queueUrl",),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ("securityGroupId",),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("securityGroupId",),
    "aws:wafv2/webAcl:WebAcl": ("name", "namePrefix", "scope"),
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": ("resourceArn",),
    "eks:index:Cluster": (
        "name",
        "privateSubnetIds",
        "publicSubnetIds",
        "subnetIds",
        "serviceRole",
        "encryptionConfigKeyArn",
        "kubernetesServiceIpAddressRange",
    ),
    "kubernetes:helm.sh/v3:Release": ("name", "namespace"),
    # Unknown values only: a known change is judged on the whole (REPLACED_AS_A_WHOLE).
    "pulumi:providers:kubernetes": ("kubeconfig", "context", "cluster"),
    "random:index/randomPassword:RandomPassword": ("*",),
}
# Every Kubernetes object is identified by its name and namespace: changing either makes
# a new object. Types from other packages fall back to these per-package rules.
REPLACED_BY_PACKAGE: dict[str, tuple[str, ...]] = {
    "kubernetes": ("metadata.name", "metadata.namespace"),
    # Keys and certificates made locally have no update: any input makes a new one.
    "tls": ("*",),
}


def _kubeconfig(value: Any) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    try:
        parsed = json.loads(value) if value[:1] == "{" else yaml.safe_load(value)
    except (TypeError, ValueError, yaml.YAMLError):
        return {}
    return parsed if isinstance(parsed, Mapping) else {}


def _active_cluster(inputs: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The cluster a provider's inputs reach, as getActiveClusterFromConfig picks it: the
    `context` input or the current context, its cluster, or the `cluster` input."""
    config = _kubeconfig(inputs.get("kubeconfig"))
    contexts = {c.get("name"): c.get("context") or {} for c in config.get("contexts") or []}
    context = contexts.get(inputs.get("context") or config.get("current-context"))
    if context is None:
        return None
    clusters = {c.get("name"): c.get("cluster") for c in config.get("clusters") or []}
    cluster = clusters.get(inputs.get("cluster") or context.get("cluster"))
    return cluster if isinstance(cluster, Mapping) else None


def active_cluster_changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """pulumi-kubernetes' DiffConfig on known inputs: a replacement iff both kubeconfigs
    name an active cluster and the two differ."""
    before, after = _active_cluster(old), _active_cluster(new)
    return before is not None and after is not None and before != after


# Types whose provider decides a replacement from the whole of the old and new inputs, not
# per input path: when it says no, no known change replaces the resource.
REPLACED_AS_A_WHOLE: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], bool]] = {
    "pulumi:providers:kubernetes": active_cluster_changed,
}


def replaced_by(type_token: str) -> tuple[str, ...] | None:
    """The replace-forcing input paths of a resource type; None for types not listed."""
    if type_token in REPLACED_BY:
        return REPLACED_BY[type_token]
    return REPLACED_BY_PACKAGE.get(type_token.split(":", 1)[0])


def forces_replacement(type_token: str, path: str) -> bool:
    for forcing in replaced_by(type_token) or ():
        if forcing == "*" or path == forcing or path.startswith((f"{forcing}.", f"{forcing}[")):
            return True
    return False


def unknown_forces_replacement(type_token: str, key: str) -> bool:
    """Whether an input whose value is unknown (computed from a resource being replaced)
    forces a replacement: the provider cannot tell that a forcing path at or below it is
    unchanged, so it plans one, as pulumi-kubernetes' DiffConfig and the Terraform bridge
    do for an unknown ForceNew value."""
    return any(
        forcing == "*" or forcing == key or forcing.startswith((f"{key}.", f"{key}["))
        for forcing in replaced_by(type_token) or ()
    )
