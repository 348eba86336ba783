"""The operations SNS topic: where CloudWatch alarms, AWS Backup, RDS events, AWS Budgets
and Alertmanager's daily digest send what a person should read. Encrypted with a key of
its own, since the AWS-managed SNS key cannot be used by the services that publish here.

ElastiCache cannot publish to an encrypted topic ("The Amazon SNS topic you are publishing
to cannot be encrypted", https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/ElastiCacheSNS.html),
so its events (snapshot completion and failure among them) go to a second, unencrypted
topic with the same subscribers; they carry event names and cache ids, no data. A
serverless cache sends its events to EventBridge instead: the rules named in
`event_rule_arns` (components/operations/cache_events.py) publish here, each admitted by
its ARN alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.iam import arn, deny_insecure_transport, partition, policy_document

# The AWS services that publish to the topic.
PUBLISHERS = (
    "cloudwatch.amazonaws.com",
    "backup.amazonaws.com",
    "events.rds.amazonaws.com",
    "budgets.amazonaws.com",
    "costalerts.amazonaws.com",
)
# EventBridge publishes for its rules: admitted per rule (aws:SourceArn), not per account.
EVENTS = "events.amazonaws.com"


@dataclass
class NotificationsArgs:
    topic_name: str
    account_id: pulumi.Input[str]
    emails: Sequence[str] = field(default_factory=list)
    # EventBridge rules that may publish (of the environments' serverless caches): their
    # ARNs are known before they exist, since each environment names its rule.
    event_rule_arns: Sequence[pulumi.Input[str]] = field(default_factory=list)


class Notifications(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]
    cache_events_topic_arn: pulumi.Output[str]

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
                        "Principal": {
                            "Service": [*PUBLISHERS, *([EVENTS] if args.event_rule_arns else [])]
                        },
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
                    *self._rules_publish(args, topic),
                    deny_insecure_transport("sns:Publish", topic.arn),
                ]
            ),
            opts=child,
        )
        cache_events = self._cache_events_topic(name, args, child)
        for suffix, target in (("", topic), ("-cache-events", cache_events)):
            for index, email in enumerate(args.emails):
                aws.sns.TopicSubscription(
                    f"{name}{suffix}-email-{index}",
                    topic=target.arn,
                    protocol="email",
                    endpoint=email,
                    opts=child,
                )
        self.topic_arn = topic.arn
        self.key_arn = key.arn
        self.cache_events_topic_arn = cache_events.arn
        self.register_outputs(
            {
                "topic_arn": self.topic_arn,
                "key_arn": self.key_arn,
                "cache_events_topic_arn": self.cache_events_topic_arn,
            }
        )

    @staticmethod
    def _rules_publish(args: NotificationsArgs, topic: aws.sns.Topic) -> list[dict[str, Any]]:
        """EventBridge as the publisher, on condition that the rule is one of ours: the
        statement AWS gives for an SNS target, with `aws:SourceArn`
        (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions)."""
        if not args.event_rule_arns:
            return []
        return [
            {
                "Sid": "EventRulesPublish",
                "Effect": "Allow",
                "Principal": {"Service": EVENTS},
                "Action": "sns:Publish",
                "Resource": topic.arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": list(args.event_rule_arns)}},
            }
        ]

    @staticmethod
    def _cache_events_topic(
        name: str, args: NotificationsArgs, child: pulumi.ResourceOptions
    ) -> aws.sns.Topic:
        """ElastiCache's topic: unencrypted (see the module's note), with the statement
        ElastiCache's guide gives: any principal, on condition of `AWS:SourceOwner` (which
        only a service publishing for the account sets); with `aws:SourceAccount` ElastiCache
        marks the topic inactive
        (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/ECEvents.SNS.html)."""
        topic = aws.sns.Topic(
            f"{name}-cache-events", name=f"{args.topic_name}-cache-events", opts=child
        )
        aws.sns.TopicPolicy(
            f"{name}-cache-events-policy",
            arn=topic.arn,
            policy=policy_document(
                [
                    {
                        "Sid": "ElastiCachePublishes",
                        "Effect": "Allow",
                        "Principal": {"AWS": "*"},
                        "Action": "sns:Publish",
                        "Resource": topic.arn,
                        "Condition": {"StringEquals": {"AWS:SourceOwner": args.account_id}},
                    },
                    deny_insecure_transport("sns:Publish", topic.arn),
                ]
            ),
            opts=child,
        )
        return topic
