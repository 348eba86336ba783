"""How each resource type of a preview is priced.

A rule turns one resource of a preview document (docs/architecture.md) into priced lines, using
its inputs (instance types, node counts, lifecycle rules, retention), the usage file and
the price table. Types with no rule are free (listed with the reason), priced on another
resource's line, or "not priced" — never silently zero.
"""

from __future__ import annotations

from collections.abc import Callable

from tools.cost.lines import Line, Unpriced
from tools.cost.rules import compute, data, network, security
from tools.cost.rules.context import Context, Resource, requirements_of, unpriced
from tools.cost.rules.data import storage_class_shares

__all__ = ["Context", "price_resource", "requirements_of", "storage_class_shares"]

FREE = {
    "aws:acm/certificate:Certificate": "public ACM certificates are free",
    "aws:acm/certificateValidation:CertificateValidation": "a validation, not a resource",
    "aws:backup/selection:Selection": "the plan's vault holds what costs",
    "aws:backup/vault:Vault": "charged per GB of recovery points (see the plan)",
    "aws:cloudfront/originAccessControl:OriginAccessControl": "free",
    "aws:cloudfront/keyGroup:KeyGroup": "free (signed URLs cost nothing extra)",
    "aws:cloudfront/publicKey:PublicKey": "free",
    "aws:cloudwatch/eventRule:EventRule": "AWS service events on the default bus are free",
    "aws:cloudwatch/eventTarget:EventTarget": "free",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "free",
    "aws:ec2/flowLog:FlowLog": "priced as its log group's ingestion",
    "aws:ec2/internetGateway:InternetGateway": "free",
    "aws:ec2/launchTemplate:LaunchTemplate": "priced on the node group that uses it",
    "aws:ec2/tag:Tag": "free",
    "aws:ec2/route:Route": "free",
    "aws:ec2/routeTable:RouteTable": "free",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "free",
    "aws:ec2/securityGroup:SecurityGroup": "free",
    "aws:ec2/subnet:Subnet": "free",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": "free",
    "aws:efs/accessPoint:AccessPoint": "free",
    "aws:efs/backupPolicy:BackupPolicy": "free (the backup plan's storage is not)",
    "aws:efs/fileSystemPolicy:FileSystemPolicy": "free",
    "aws:efs/mountTarget:MountTarget": "free",
    "aws:eks/accessEntry:AccessEntry": "free",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": "free",
    "aws:eks/addon:Addon": "free (runs on the nodes)",
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": "free",
    "aws:elasticache/subnetGroup:SubnetGroup": "free",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "free",
    "aws:iam/policy:Policy": "free",
    "aws:iam/role:Role": "free",
    "aws:iam/rolePolicy:RolePolicy": "free",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "free",
    "aws:kms/alias:Alias": "free",
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": "free",
    "aws:rds/subnetGroup:SubnetGroup": "free",
    "aws:route53/record:Record": "queries are priced on the zone",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "priced on its bucket",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "free",
    "aws:s3/bucketPolicy:BucketPolicy": "free",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "free",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "SSE-S3 is free"
    ),
    "aws:s3/bucketVersioning:BucketVersioning": "noncurrent versions expire (lifecycle)",
    "aws:secretsmanager/secretVersion:SecretVersion": "priced on its secret",
    "aws:sqs/queue:Queue": "within SQS's free million requests a month",
    "aws:sqs/queuePolicy:QueuePolicy": "free",
    "tls:index/privateKey:PrivateKey": "made by the Pulumi engine, not AWS",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "free",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "free",
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": "priced as its log group",
    "aws:wafv2/ipSet:IpSet": "free",
    "aws:wafv2/regexPatternSet:RegexPatternSet": "free",
    "aws:cloudfront/cachePolicy:CachePolicy": "free",
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": "free",
    "aws:ec2/securityGroupRule:SecurityGroupRule": "free",
    "aws:ec2/networkAcl:NetworkAcl": "free",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "free",
    "aws:elasticache/parameterGroup:ParameterGroup": "free",
    "aws:elasticache/user:User": "free",
    "aws:elasticache/userGroup:UserGroup": "free",
    "aws:iam/instanceProfile:InstanceProfile": "free",
    "aws:iam/serviceLinkedRole:ServiceLinkedRole": "free",
    "aws:iam/user:User": "free",
    "aws:iam/userPolicy:UserPolicy": "free",
    "aws:kms/keyPolicy:KeyPolicy": "free",
    "aws:rds/clusterRoleAssociation:ClusterRoleAssociation": "free",
    "aws:rds/eventSubscription:EventSubscription": (
        "RDS event notifications are free; SNS charges its few messages"
    ),
    "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration": "free",
    "aws:s3/bucketLogging:BucketLogging": "free (the log objects are the target bucket's)",
    "aws:s3/bucketNotification:BucketNotification": "free",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "free",
    "aws:secretsmanager/secretRotation:SecretRotation": "free (its Lambda is not)",
    "aws:sns/topicPolicy:TopicPolicy": "free",
    "aws:sns/topicSubscription:TopicSubscription": "charged per delivery; alerts are few",
    "aws:sns/topic:Topic": "charged per message; alerts are few",
    "aws:ssm/parameter:Parameter": "standard parameters are free",
    "aws:backup/vaultNotifications:VaultNotifications": "charged as SNS messages; few",
    "aws:backup/vaultPolicy:VaultPolicy": "free",
    "aws:budgets/budget:Budget": "an account's first two budgets are free",
    "aws:cloudtrail/trail:Trail": "the first trail's management events are free (no data events)",
    "aws:costexplorer/anomalyMonitor:AnomalyMonitor": "Cost Anomaly Detection is free",
    "aws:costexplorer/anomalySubscription:AnomalySubscription": "free",
    "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock": "free",
}


RULES: dict[str, Callable[[Resource, Context], list[Line] | Unpriced]] = {
    "eks:index:Cluster": compute.eks_cluster,
    "aws:ec2/instance:Instance": compute.instance,
    "aws:cloudwatch/metricAlarm:MetricAlarm": data.metric_alarm,
    "aws:eks/nodeGroup:NodeGroup": compute.node_group,
    "kubernetes:karpenter.sh/v1:NodePool": compute.node_pool,
    "kubernetes:helm.sh/v3:Release": compute.app_release,
    "kubernetes:apps/v1:StatefulSet": compute.stateful_set,
    "aws:rds/clusterInstance:ClusterInstance": data.aurora_instance,
    "aws:rds/cluster:Cluster": data.aurora_cluster,
    "aws:elasticache/replicationGroup:ReplicationGroup": data.cache_group,
    "aws:elasticache/serverlessCache:ServerlessCache": data.serverless_cache,
    "aws:ec2/natGateway:NatGateway": network.nat_gateway,
    "aws:ec2/eip:Eip": network.elastic_ip,
    "aws:ec2/vpc:Vpc": network.vpc,
    "aws:ec2/vpcEndpoint:VpcEndpoint": network.vpc_endpoint,
    "kubernetes:elbv2.k8s.aws/v1beta1:IngressClassParams": network.load_balancer,
    "aws:cloudfront/distribution:Distribution": network.cloudfront,
    "aws:wafv2/webAcl:WebAcl": network.web_acl,
    "aws:route53/zone:Zone": network.hosted_zone,
    "aws:efs/fileSystem:FileSystem": data.file_system,
    "aws:s3/bucket:Bucket": data.bucket,
    "aws:ecr/repository:Repository": data.repository,
    "aws:cloudwatch/logGroup:LogGroup": data.log_group,
    "aws:backup/plan:Plan": data.backup_plan,
    "aws:secretsmanager/secret:Secret": data.secret,
    "aws:kms/key:Key": data.kms_key,
    "aws:guardduty/detector:Detector": security.detector,
    "aws:guardduty/detectorFeature:DetectorFeature": security.feature,
}


def price_resource(resource: Resource, context: Context) -> list[Line] | Unpriced | None:
    """Lines for `resource`; an `Unpriced` when it has none; None for what is not a cloud
    resource at all (components, providers, stack references)."""
    type_token = resource["type"]
    if type_token.startswith(("pingvas:", "pulumi:")):
        return None
    rule = RULES.get(type_token)
    if rule is not None:
        try:
            return rule(resource, context)
        except LookupError as error:
            return unpriced(resource, context, "not priced", str(error))
    if type_token in FREE:
        return unpriced(resource, context, "free", FREE[type_token])
    if type_token.startswith("random:"):
        return unpriced(resource, context, "free", "generated locally")
    if type_token.startswith("kubernetes:"):
        return unpriced(resource, context, "free", "a Kubernetes object; its pods are priced")
    return unpriced(resource, context, "not priced", "no pricing rule for this type")
