"""Account-level audit and guard rails (SPEC §6.5, §8): CloudTrail in every region with
log file validation, GuardDuty with EKS protection, a monthly AWS Budget and a daily cost
anomaly digest by e-mail, and the account-wide S3 public access block."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

# Where CloudTrail writes in the logs bucket (its lifecycle rule has the same prefix).
TRAIL_PREFIX = "cloudtrail"
# Percent of the monthly budget at which to e-mail: spent so far, and forecast.
BUDGET_ACTUAL_PERCENT = 80
BUDGET_FORECAST_PERCENT = 100
# The cost anomaly digest reports anomalies of at least this many dollars.
ANOMALY_THRESHOLD_USD = 20
GUARDDUTY_FEATURES = {
    "EKS_AUDIT_LOGS": None,
    "S3_DATA_EVENTS": None,
    "EBS_MALWARE_PROTECTION": None,
    "RDS_LOGIN_EVENTS": None,
    # Runtime monitoring of EKS nodes; GuardDuty manages its agent add-on.
    "RUNTIME_MONITORING": {"EKS_ADDON_MANAGEMENT": "ENABLED"},
}


@dataclass
class AuditArgs:
    trail_name: str
    logs_bucket_name: pulumi.Input[str]
    monthly_budget_usd: float
    budget_name: str
    # The `project` cost allocation tag every resource carries (stacks.tagging).
    project: str
    emails: Sequence[str] = field(default_factory=list)
    topic_arn: pulumi.Input[str] | None = None
    depends_on: Sequence[pulumi.Resource] = ()


class Audit(pulumi.ComponentResource):
    trail_arn: pulumi.Output[str]
    detector_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: AuditArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:operations:Audit", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        trail = aws.cloudtrail.Trail(
            f"{name}-trail",
            name=args.trail_name,
            s3_bucket_name=args.logs_bucket_name,
            s3_key_prefix=TRAIL_PREFIX,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            enable_logging=True,
            # The bucket policy must let CloudTrail write before the trail exists.
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        detector = aws.guardduty.Detector(
            f"{name}-guardduty",
            enable=True,
            finding_publishing_frequency="FIFTEEN_MINUTES",
            opts=child,
        )
        for feature, configuration in GUARDDUTY_FEATURES.items():
            aws.guardduty.DetectorFeature(
                f"{name}-guardduty-{feature.lower().replace('_', '-')}",
                detector_id=detector.id,
                name=feature,
                status="ENABLED",
                additional_configurations=(
                    [
                        aws.guardduty.DetectorFeatureAdditionalConfigurationArgs(
                            name=extra, status=status
                        )
                        for extra, status in configuration.items()
                    ]
                    if configuration
                    else None
                ),
                opts=child,
            )
        self._budget(name, args, child)
        aws.s3.AccountPublicAccessBlock(
            f"{name}-s3-public-access",
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        self.trail_arn = trail.arn
        self.detector_id = detector.id
        self.register_outputs({"trail_arn": self.trail_arn, "detector_id": self.detector_id})

    @staticmethod
    def _budget(name: str, args: AuditArgs, opts: pulumi.ResourceOptions) -> None:
        notifications = [
            aws.budgets.BudgetNotificationArgs(
                comparison_operator="GREATER_THAN",
                notification_type=kind,
                threshold=percent,
                threshold_type="PERCENTAGE",
                subscriber_email_addresses=list(args.emails),
                subscriber_sns_topic_arns=[args.topic_arn] if args.topic_arn else None,
            )
            for kind, percent in (
                ("ACTUAL", BUDGET_ACTUAL_PERCENT),
                ("FORECASTED", BUDGET_FORECAST_PERCENT),
            )
        ]
        aws.budgets.Budget(
            f"{name}-budget",
            name=args.budget_name,
            budget_type="COST",
            time_unit="MONTHLY",
            limit_amount=f"{args.monthly_budget_usd:.2f}",
            limit_unit="USD",
            notifications=notifications,
            opts=opts,
        )
        # SPEC §7's "daily cost report": AWS's anomaly detection, digested daily by e-mail.
        # Over what carries the project's tag (an account has one services-wide monitor
        # already, which AWS creates, and may have no second).
        monitor = aws.costexplorer.AnomalyMonitor(
            f"{name}-cost-anomalies",
            name=f"{args.budget_name}-project",
            monitor_type="CUSTOM",
            monitor_specification=json.dumps(
                {"Tags": {"Key": "project", "Values": [args.project], "MatchOptions": ["EQUALS"]}}
            ),
            opts=opts,
        )
        if args.emails:
            aws.costexplorer.AnomalySubscription(
                f"{name}-cost-digest",
                name=f"{args.budget_name}-daily",
                frequency="DAILY",
                monitor_arn_lists=[monitor.arn],
                subscribers=[
                    aws.costexplorer.AnomalySubscriptionSubscriberArgs(type="EMAIL", address=email)
                    for email in args.emails
                ],
                threshold_expression=aws.costexplorer.AnomalySubscriptionThresholdExpressionArgs(
                    dimension=aws.costexplorer.AnomalySubscriptionThresholdExpressionDimensionArgs(
                        key="ANOMALY_TOTAL_IMPACT_ABSOLUTE",
                        match_options=["GREATER_THAN_OR_EQUAL"],
                        values=[str(ANOMALY_THRESHOLD_USD)],
                    )
                ),
                opts=opts,
            )
