"""Account guard rails: a multi-region CloudTrail with log file validation into the logs
bucket, GuardDuty with EKS protection, a 2000 USD monthly budget and a daily cost anomaly
digest, and the account-wide S3 public access block."""

import pulumi
import pulumi_aws as aws

from components.operations.audit import Audit, AuditArgs

LOGS_BUCKET = "pingvas-example-logs-0123"  # the bucket example's, or your logs bucket

aws_provider = aws.Provider("aws", region="us-east-1")
audit = Audit(
    "example",
    AuditArgs(
        trail_name="pingvas-example-trail",
        logs_bucket_name=LOGS_BUCKET,
        monthly_budget_usd=2000,
        budget_name="pingvas-example-monthly",
        project="pingvas",
        emails=["finance@example.com"],
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider]),
)
pulumi.export("trailArn", audit.trail_arn)
pulumi.export("guardDutyDetectorId", audit.detector_id)
