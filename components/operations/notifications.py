"""The operations SNS topic: where CloudWatch alarms, AWS Backup, AWS Budgets and
Alertmanager's daily digest send what a person should read. Encrypted with a key of its
own, since the AWS-managed SNS key cannot be used by the services that publish here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.iam import arn, partition, policy_document

# The AWS services that publish to the topic.
PUBLISHERS = (
    "cloudwatch.amazonaws.com",
    "backup.amazonaws.com",
    "budgets.amazonaws.com",
    "costalerts.amazonaws.com",
)


@dataclass
class NotificationsArgs:
    topic_name: str
    account_id: pulumi.Input[str]
    emails: Sequence[str] = field(default_factory=list)


class Notifications(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: NotificationsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:operations:Notifications", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = args.account_id
        root = arn(partition(self), "iam", "root", account=account)
        key = aws.kms.Key(
            f"{name}-key",
            description=f"{args.topic_name}: SNS messages",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=policy_document(
                [
                    {
                        "Sid": "AccountAdministers",
                        "Effect": "Allow",
                        "Principal": {"AWS": root},
                        "Action": "kms:*",
                        "Resource": "*",
                    },
                    {
                        "Sid": "PublishersEncrypt",
                        "Effect": "Allow",
                        "Principal": {"Service": list(PUBLISHERS)},
                        "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                        "Resource": "*",
                        # No source condition: not every publisher sends one to KMS; the
                        # topic's own policy limits who may publish.
                    },
                ]
            ),
            opts=child,
        )
        topic = aws.sns.Topic(name, name=args.topic_name, kms_master_key_id=key.arn, opts=child)
        aws.sns.TopicPolicy(
            f"{name}-policy",
            arn=topic.arn,
            policy=policy_document(
                [
                    {
                        "Sid": "AwsServicesPublish",
                        "Effect": "Allow",
                        "Principal": {"Service": list(PUBLISHERS)},
                        "Action": "sns:Publish",
                        "Resource": topic.arn,
                        "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                    },
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "sns:Publish",
                        "Resource": topic.arn,
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                ]
            ),
            opts=child,
        )
        for index, email in enumerate(args.emails):
            aws.sns.TopicSubscription(
                f"{name}-email-{index}",
                topic=topic.arn,
                protocol="email",
                endpoint=email,
                opts=child,
            )
        self.topic_arn = topic.arn
        self.key_arn = key.arn
        self.register_outputs({"topic_arn": self.topic_arn, "key_arn": self.key_arn})
