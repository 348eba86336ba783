"""A serverless cache's events (decision 0117): ElastiCache sends them to EventBridge
only, so each environment with one has a rule on `aws.elasticache` for its cache that
targets the operations topic, and the topic (and its key) admit EventBridge for the
environments' rules alone, by `aws:SourceArn`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.operations.cache_events import SOURCE
from pulumi_offline import OfflineRun
from stacks.operations import cache_events_rule
from tests.infra.test_deploy_role_attacks import ALLOW_ALL
from tests.support.deploy_roles import policies
from tests.support.iam import Request, allowed
from tests.support.stacks import run_stack, stack_runner

RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
ACCOUNT = "123456789012"
EVENTS = "events.amazonaws.com"


def rule_arn(name: str, account: str = ACCOUNT) -> str:
    return f"arn:aws:events:us-east-1:{account}:rule/{name}"


def topic_arn(shared: OfflineRun, name: str = "pingvas-shared-operations") -> str:
    """A platform topic's ARN as AWS makes it, from its name (the offline runtime's ARNs
    carry a generated id instead)."""
    topic = shared.one("aws:sns/topic:Topic", name)
    return f"arn:aws:sns:us-east-1:{ACCOUNT}:{topic.inputs['name']}"


def topic_policy(shared: OfflineRun) -> dict[str, Any]:
    policy = shared.one("aws:sns/topicPolicy:TopicPolicy", "pingvas-shared-operations-policy")
    return dict(json.loads(policy.inputs["policy"]))


def publish(shared: OfflineRun, source_arn: str | None, principal: str = EVENTS) -> Request:
    context = {"aws:SecureTransport": "true", "aws:SourceAccount": ACCOUNT}
    if source_arn is not None:
        context["aws:SourceArn"] = source_arn
    return Request(
        "sns:Publish",
        shared.outputs["operationsTopicArn"],
        principal=principal,
        context=context,
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_serverless_cache_reports_its_failures_and_limits_to_the_operations_topic(
    stack: str, shared: OfflineRun
) -> None:
    run = run_stack(stack)
    (rule,) = run.of_type(RULE)
    assert rule.inputs["name"] == cache_events_rule(stack) == f"pingvas-{stack}-redis-events"
    assert not rule.inputs.get("eventBusName")  # the default bus, where AWS sends them
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["source"] == [SOURCE]
    # The failures and the limits of AWS's list (events-ref-elasticache), named as sent.
    assert {
        "Snapshot Creation Failed",
        "Cache Limit Approaching",
        "Cache Update Failed",
    } <= set(pattern["detail-type"])
    # This environment's cache (and its restores), not another environment's.
    assert pattern["detail"] == {"SourceIdentifier": [{"prefix": f"pingvas-{stack}-redis"}]}
    (target,) = run.of_type(TARGET)
    assert target.inputs["rule"] == rule.inputs["name"]
    assert target.inputs["arn"] == shared.outputs["operationsTopicArn"]
    # The topic admits exactly this rule's ARN.
    assert allowed([topic_policy(shared)], publish(shared, rule_arn(rule.inputs["name"])))


def test_the_topic_admits_eventbridge_only_for_the_environments_rules(
    shared: OfflineRun,
) -> None:
    policy = [topic_policy(shared)]
    for environment in ("dev", "prod"):
        assert allowed(policy, publish(shared, rule_arn(cache_events_rule(environment))))
    # Attacks: any other rule of the account (one that forwards everything to the
    # topic), the same name in another account, a name that only starts alike, and
    # EventBridge with no source at all.
    for source in (
        rule_arn("someone-elses-rule"),
        rule_arn("pingvas-prod-redis-events", account="999999999999"),
        rule_arn("pingvas-prod-redis-events-2"),
        rule_arn("pingvas-pr-7-redis-events"),
        None,
    ):
        assert not allowed(policy, publish(shared, source)), source
    # Control: the services admitted by account still publish.
    assert allowed(policy, publish(shared, None, principal="cloudwatch.amazonaws.com"))


def test_eventbridge_may_encrypt_with_the_topics_key(shared: OfflineRun) -> None:
    """The topic is encrypted with its own key: a publisher the key refuses is dropped."""
    key = json.loads(
        shared.one("aws:kms/key:Key", "pingvas-shared-operations-key").inputs["policy"]
    )
    (encrypt,) = [s for s in key["Statement"] if s.get("Sid") == "PublishersEncrypt"]
    assert EVENTS in encrypt["Principal"]["Service"]


def test_node_based_caches_and_previews_have_no_rule(tmp_path: Path) -> None:
    """Control: a replication group names the cache-events topic itself; pr-<N> runs
    Redis in its namespace."""
    replicated = stack_runner(tmp_path)(
        "prod",
        {
            "pingvas:redis": {
                "mode": "replicated",
                "engine": "valkey",
                "nodeType": "cache.t4g.medium",
                "replicas": 1,
            }
        },
    )
    assert replicated.of_type(RULE) == []
    assert replicated.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    assert run_stack("pr-7").of_type(RULE) == []


@pytest.mark.parametrize("key", ["dev", "prod"])
def test_a_deploy_role_manages_its_own_rule_and_no_other(shared: OfflineRun, key: str) -> None:
    """The environment's deploy role makes and points its rule (tagged for its stack, as
    the provider tags everything); a rule named for another stack, even tagged for this
    one, stays out of reach: a rule routes events anywhere the target admits."""
    policy = policies(shared, key)
    tags = {"stack": key}
    own = rule_arn(cache_events_rule(key))
    # As AWS evaluates them: the rule's sources, the target's ARN (the operations topic).
    source = {"events:source": [SOURCE]}
    target = {"events:TargetArn": [topic_arn(shared)]}
    assert allowed(policy, Request("events:PutRule", own, request_tags=tags, context=source))
    assert allowed(policy, Request("events:PutTargets", own, resource_tags=tags, context=target))
    assert allowed(policy, Request("events:DeleteRule", own, resource_tags=tags))
    other = "prod" if key == "dev" else "dev"
    for foreign in (
        rule_arn(cache_events_rule(other)),
        rule_arn("pingvas-shared-karpenter-spot-interruption"),
        rule_arn("forward-everything"),
    ):
        assert not allowed(
            policy, Request("events:PutTargets", foreign, resource_tags=tags, context=target)
        )
        assert not allowed(
            policy, Request("events:PutRule", foreign, request_tags=tags, context=source)
        )
    # And the preview role changes no rule at all, its own name included.
    preview = policies(shared, "pr")
    pr_rule = rule_arn(cache_events_rule("pr-7"))
    assert not allowed(preview, Request("events:PutRule", pr_rule, request_tags={"stack": "pr-7"}))


@pytest.mark.parametrize("key", ["dev", "prod"])
def test_a_deploy_roles_rule_matches_cache_events_and_sends_them_only_to_the_topic(
    shared: OfflineRun, key: str
) -> None:
    """Its own rule is no way out: a rule matching any other source (CloudTrail's API
    calls, every secret's events) or none (a schedule), or a target other than the
    operations topic (another account's bus, a function, the cache-events topic), is
    refused even where some Allow grants everything."""
    run = run_stack(key)
    (rule,) = run.of_type(RULE)
    (target,) = run.of_type(TARGET)
    own = rule_arn(rule.inputs["name"])
    tags = {"stack": key}

    def put_rule(sources: list[str] | None) -> Request:
        context = {} if sources is None else {"events:source": sources}
        return Request("events:PutRule", own, request_tags=tags, context=context)

    def put_targets(arns: list[str] | None) -> Request:
        context = {} if arns is None else {"events:TargetArn": arns}
        return Request("events:PutTargets", own, resource_tags=tags, context=context)

    # Control: the stack's own rule and target, as the preview sends them.
    policy = policies(shared, key)
    assert allowed(policy, put_rule(json.loads(rule.inputs["eventPattern"])["source"]))
    assert target.inputs["arn"] == shared.outputs["operationsTopicArn"]
    topic = topic_arn(shared)
    assert allowed(policy, put_targets([topic]))
    anything = policy.plus(ALLOW_ALL)
    for sources in (["aws.cloudtrail"], [SOURCE, "aws.secretsmanager"], None):
        assert not allowed(anything, put_rule(sources)), sources
    for arns in (
        ["arn:aws:events:us-east-1:999999999999:event-bus/default"],
        [f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:pingvas-{key}-forward"],
        [topic_arn(shared, "pingvas-shared-operations-cache-events")],
        [topic, "arn:aws:sqs:us-east-1:999999999999:collect"],
        None,
    ):
        assert not allowed(anything, put_targets(arns)), arns
    # Nor any other `Put` on a bus: opening the default bus to other accounts, or
    # sending it forged events, even were the bus tagged for the stack.
    bus = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default"
    for action in ("events:PutPermission", "events:PutEvents"):
        assert not allowed(anything, Request(action, bus, resource_tags=tags)), action
