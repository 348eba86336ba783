"""One private S3 bucket, secure by default: versioning, encryption, no public access,
bucket-owner-enforced ownership, TLS-only access, and lifecycle rules from its Args."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.iam import arn, deny_insecure_transport, partition


@dataclass(frozen=True)
class LifecycleRule:
    """One lifecycle rule; every period is days since creation (or since an object
    became noncurrent), None leaves that action out."""

    id: str
    prefix: str = ""
    ia_after_days: int | None = None
    intelligent_tiering_after_days: int | None = None
    archive_after_days: int | None = None
    archive_storage_class: str = "GLACIER_IR"
    expire_after_days: int | None = None
    noncurrent_expire_after_days: int | None = 30
    abort_multipart_after_days: int | None = 7


@dataclass(frozen=True)
class ReadGrant:
    """Lets one CloudFront distribution read `prefix*` through Origin Access Control."""

    distribution_arn: pulumi.Input[str]
    prefix: str


# Regions older than August 2022 deliver ALB access logs from an AWS-owned account; newer
# ones from the log delivery service.
ELB_LOG_ACCOUNTS = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-central-1": "054676820928",
    "ap-southeast-1": "114774131450",
    "ap-northeast-1": "582318560864",
}


@dataclass(frozen=True)
class LoadBalancerLogsGrant:
    """Lets Elastic Load Balancing write access logs under `prefix` (SSE-S3 buckets only)."""

    region: str
    prefix: str


@dataclass
class CloudTrailGrant:
    """Lets CloudTrail write one trail's logs under `prefix` (and read the bucket's ACL)."""

    prefix: str
    trail_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]


@dataclass
class BucketArgs:
    # The globally unique bucket name (infra.naming.Naming.globally_unique).
    bucket_name: pulumi.Input[str]
    versioning: bool = True
    lifecycle_rules: Sequence[LifecycleRule] = (LifecycleRule(id="housekeeping"),)
    # SSE-KMS with this key (and an S3 bucket key); SSE-S3 when None.
    kms_key_arn: pulumi.Input[str] | None = None
    force_destroy: bool = False
    read_grants: Sequence[ReadGrant] = field(default_factory=list)
    # The readers exist only once the bucket does (a CDN whose origin it is): the policy
    # waits for `Bucket.grant_reads`, so neither needs the other before it exists.
    readers_later: bool = False
    load_balancer_logs: LoadBalancerLogsGrant | None = None
    cloudtrail: CloudTrailGrant | None = None


class Bucket(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    bucket_regional_domain_name: pulumi.Output[str]
    policy_applied_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: BucketArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        self._check(args)  # before registering anything
        super().__init__("pingvas:storage:Bucket", name, None, opts)
        self._name = name
        self._args = args
        child = pulumi.ResourceOptions(parent=self)

        self.bucket = aws.s3.Bucket(
            name,
            bucket=args.bucket_name,
            force_destroy=args.force_destroy,
            opts=child,
        )
        self.bucket_name = self.bucket.bucket
        self.bucket_arn = self.bucket.arn
        self.bucket_regional_domain_name = self.bucket.bucket_regional_domain_name

        # Access settings first: nothing may be written before the bucket is private.
        self._access = self._block_public_access()
        self._encryption()
        self._lifecycle(depends_on=self._versioning())
        if not args.readers_later:
            self._apply_policy(args.read_grants)

        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "bucket_arn": self.bucket_arn,
                "bucket_regional_domain_name": self.bucket_regional_domain_name,
            }
        )

    @staticmethod
    def _check(args: BucketArgs) -> None:
        ids = [rule.id for rule in args.lifecycle_rules]
        if len(set(ids)) != len(ids):
            raise ValueError(f"lifecycle rule ids must be distinct: {ids}")

    def _block_public_access(self) -> list[pulumi.Resource]:
        child = pulumi.ResourceOptions(parent=self)
        block = aws.s3.BucketPublicAccessBlock(
            f"{self._name}-public-access",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        # ACLs off: the bucket owner owns every object, so only policies grant access.
        ownership = aws.s3.BucketOwnershipControls(
            f"{self._name}-ownership",
            bucket=self.bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        return [block, ownership]

    def _versioning(self) -> list[pulumi.Resource]:
        if not self._args.versioning:
            return []
        versioning = aws.s3.BucketVersioning(
            f"{self._name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return [versioning]

    def _encryption(self) -> None:
        kms_key = self._args.kms_key_arn
        default = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(  # noqa: E501
            sse_algorithm="AES256" if kms_key is None else "aws:kms",
            kms_master_key_id=kms_key,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{self._name}-encryption",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=default,
                    bucket_key_enabled=kms_key is not None,
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _lifecycle(self, depends_on: list[pulumi.Resource]) -> None:
        rules = [self._lifecycle_rule(rule) for rule in self._args.lifecycle_rules]
        if not rules:
            return
        aws.s3.BucketLifecycleConfiguration(
            f"{self._name}-lifecycle",
            bucket=self.bucket.id,
            rules=rules,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )

    def _lifecycle_rule(self, rule: LifecycleRule) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
        moves = [
            (rule.intelligent_tiering_after_days, "INTELLIGENT_TIERING"),
            (rule.ia_after_days, "STANDARD_IA"),
            (rule.archive_after_days, rule.archive_storage_class),
        ]
        transitions = [
            aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(days=days, storage_class=cls)
            for days, cls in moves
            if days is not None
        ]
        noncurrent = rule.noncurrent_expire_after_days if self._args.versioning else None
        return aws.s3.BucketLifecycleConfigurationRuleArgs(
            id=rule.id,
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=rule.prefix),
            transitions=transitions or None,
            expiration=(
                aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=rule.expire_after_days)
                if rule.expire_after_days is not None
                else None
            ),
            noncurrent_version_expiration=(
                aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=noncurrent
                )
                if noncurrent is not None
                else None
            ),
            abort_incomplete_multipart_upload=(
                aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=rule.abort_multipart_after_days
                )
                if rule.abort_multipart_after_days is not None
                else None
            ),
        )

    def grant_reads(self, grants: Sequence[ReadGrant]) -> None:
        """The bucket's policy, with readers made after the bucket (`readers_later`)."""
        if not self._args.readers_later:
            raise ValueError(f"{self._name}: its policy was made with the bucket")
        self._apply_policy(grants)

    def _apply_policy(self, grants: Sequence[ReadGrant]) -> None:
        policy = self._policy(grants, depends_on=self._access)
        # The name, once the policy is in place: for writers the policy lets in (CloudTrail
        # checks it when its trail is created).
        self.policy_applied_name = pulumi.Output.all(self.bucket.bucket, policy.id).apply(
            lambda values: str(values[0])
        )

    def _policy(
        self, grants: Sequence[ReadGrant], depends_on: list[pulumi.Resource]
    ) -> aws.s3.BucketPolicy:
        """TLS only for everyone; reads for the named CloudFront distributions only."""
        bucket_arn = self.bucket.arn
        statements: list[Mapping[str, Any]] = [
            deny_insecure_transport("s3:*", [bucket_arn, pulumi.Output.concat(bucket_arn, "/*")])
        ]
        for index, grant in enumerate(grants):
            statements.append(
                {
                    "Sid": f"CloudFrontReads{index}",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"},
                    "Action": "s3:GetObject",
                    "Resource": pulumi.Output.concat(bucket_arn, "/", grant.prefix, "*"),
                    "Condition": {"StringEquals": {"AWS:SourceArn": grant.distribution_arn}},
                }
            )
        logs = self._args.load_balancer_logs
        if logs is not None:
            account = ELB_LOG_ACCOUNTS.get(logs.region)
            statements.append(
                {
                    "Sid": "LoadBalancerAccessLogs",
                    "Effect": "Allow",
                    "Principal": (
                        {"AWS": arn(partition(self), "iam", "root", account=account)}
                        if account
                        else {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
                    ),
                    "Action": "s3:PutObject",
                    "Resource": pulumi.Output.concat(bucket_arn, "/", logs.prefix, "*"),
                }
            )
        if self._args.cloudtrail is not None:
            statements.extend(self._cloudtrail_statements(self._args.cloudtrail))
        return aws.s3.BucketPolicy(
            f"{self._name}-policy",
            bucket=self.bucket.id,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements}),
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )

    def _cloudtrail_statements(self, grant: CloudTrailGrant) -> list[Mapping[str, Any]]:
        arn = self.bucket.arn
        only_the_trail = {"StringEquals": {"aws:SourceArn": grant.trail_arn}}
        return [
            {
                "Sid": "CloudTrailReadsAcl",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:GetBucketAcl",
                "Resource": arn,
                "Condition": only_the_trail,
            },
            {
                "Sid": "CloudTrailWrites",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": pulumi.Output.concat(
                    arn, "/", grant.prefix, "/AWSLogs/", grant.account_id, "/*"
                ),
                "Condition": only_the_trail,
            },
        ]
