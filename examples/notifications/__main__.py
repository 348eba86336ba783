"""The operations SNS topic, encrypted with its own KMS key so that CloudWatch, AWS
Backup and Budgets may publish to it, with two people subscribed by e-mail."""

import pulumi
import pulumi_aws as aws

from components.operations.notifications import Notifications, NotificationsArgs

ACCOUNT_ID = "123456789012"  # yours

aws_provider = aws.Provider("aws", region="us-east-1")
notifications = Notifications(
    "example",
    NotificationsArgs(
        topic_name="pingvas-example-operations",
        account_id=ACCOUNT_ID,
        emails=["oncall@example.com", "platform@example.com"],
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider]),
)
pulumi.export("topicArn", notifications.topic_arn)
