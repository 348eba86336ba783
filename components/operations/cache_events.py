"""A serverless cache's events to the operations topic (decision 0117).

A replication group names an SNS topic for its events (`notification_topic_arn`); a
serverless cache has no such argument: ElastiCache sends its events to EventBridge
("ElastiCache sends service events directly to EventBridge", source `aws.elasticache`,
https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-elasticache.html). One rule
on the default bus forwards the ones a person should read about one cache to the topic,
whose policy admits that rule's ARN alone (components/operations/notifications.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

SOURCE = "aws.elasticache"
# The detail-types of the failures and the usage limits (AWS's list, the page above);
# Cache Created/Updated and Snapshot Created, daily and expected, are left to the console.
DETAIL_TYPES = (
    "Cache Creation Failed",
    "Cache Update Failed",
    "Cache Deleted",
    "Cache Limit Approaching",
    "Snapshot Creation Failed",
    "Snapshot Export Failed",
    "Snapshot Copy Failed",
)


def event_pattern(cache_name: str) -> dict[str, object]:
    """The cache's events and its snapshots' and restores': the event's `detail` carries
    ElastiCache's event record (`SourceIdentifier`, `SourceType`, `SourceArn`, `Message`,
    as DescribeEvents returns it; the fields of AWS's event schema, e.g.
    https://docs.aws.amazon.com/cdk/api/v2/python/aws_cdk.mixins_preview.aws_elasticache.events/CacheLimitApproaching.html),
    and a restore names its cache `<cache>-r<time>` (ops/restore/serverless_redis.py)."""
    return {
        "source": [SOURCE],
        "detail-type": list(DETAIL_TYPES),
        "detail": {"SourceIdentifier": [{"prefix": cache_name}]},
    }


@dataclass
class CacheEventsArgs:
    rule_name: str  # the topic's policy admits it by name (its ARN is known beforehand)
    cache_name: str
    topic_arn: pulumi.Input[str]


class CacheEvents(pulumi.ComponentResource):
    rule_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: CacheEventsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:operations:CacheEvents", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        rule = aws.cloudwatch.EventRule(
            name,
            name=args.rule_name,
            description=f"{args.cache_name}: failures and usage limits to the operations topic",
            event_pattern=json.dumps(event_pattern(args.cache_name)),
            opts=child,
        )
        aws.cloudwatch.EventTarget(name, rule=rule.name, arn=args.topic_arn, opts=child)
        self.rule_arn = rule.arn
        self.register_outputs({"rule_arn": rule.arn})
