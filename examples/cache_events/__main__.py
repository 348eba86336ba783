"""A serverless cache's failures and usage-limit warnings, which ElastiCache sends only to
EventBridge, forwarded to the operations topic by one rule (decision 0117). The topic's
policy must admit the rule's ARN (`components/operations/notifications.py`)."""

import pulumi
import pulumi_aws as aws

from components.operations.cache_events import CacheEvents, CacheEventsArgs

# Your operations topic, whose policy admits the rule below.
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:pingvas-example-operations"

aws_provider = aws.Provider("aws", region="us-east-1")
events = CacheEvents(
    "example",
    CacheEventsArgs(
        rule_name="pingvas-example-redis-events",
        cache_name="pingvas-example-redis",
        topic_arn=TOPIC_ARN,
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider]),
)
pulumi.export("ruleArn", events.rule_arn)
