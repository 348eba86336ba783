"""SPEC §7 "backup completion": besides the EFS vault's jobs (test_operations.py), Aurora's
and ElastiCache's backups report their completion and failure to the operations topics,
and each topic admits the service that publishes to it (a topic it may not publish to
drops the event silently)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pulumi_offline import OfflineRun
from tests.support.stacks import NODE_BASED_REDIS, run_stack, stack_runner

SUBSCRIPTION = "aws:rds/eventSubscription:EventSubscription"
GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"


def statements(run: OfflineRun, type_: str, name: str, key: str) -> list[dict[str, Any]]:
    document: dict[str, Any] = json.loads(run.one(type_, name).inputs[key])
    return list(document["Statement"])


def publishers(allow: dict[str, Any]) -> set[str]:
    principal = allow["Principal"]
    services = principal.get("Service", []) if isinstance(principal, dict) else []
    return {services} if isinstance(services, str) else set(services)


def test_aurora_snapshots_and_failures_go_to_the_operations_topic(shared: OfflineRun) -> None:
    topic_arn = shared.outputs["operationsTopicArn"]
    found = {s.inputs["name"]: s.inputs for s in shared.of_type(SUBSCRIPTION)}
    snapshots = found["pingvas-shared-aurora-snapshot-events"]
    # Automated cluster snapshots (RDS-EVENT-0168/0169), manual ones and their failures are
    # events of the snapshot: no category filter, no id (snapshot ids are not known).
    assert snapshots["sourceType"] == "db-cluster-snapshot"
    assert not snapshots.get("eventCategories")
    assert not snapshots.get("sourceIds")
    failures = found["pingvas-shared-aurora-failure-events"]
    assert failures["sourceType"] == "db-cluster"
    assert failures["sourceIds"] == ["pingvas-shared-aurora"]
    assert failures["eventCategories"] == ["failure"]
    assert {s["snsTopic"] for s in found.values()} == {topic_arn}


def test_rds_may_publish_to_the_encrypted_topic(shared: OfflineRun) -> None:
    """RDS events reach an encrypted topic only if both the topic and its key admit them."""
    topic_allow = next(
        s
        for s in statements(
            shared, "aws:sns/topicPolicy:TopicPolicy", "pingvas-shared-operations-policy", "policy"
        )
        if s["Effect"] == "Allow"
    )
    key_allow = next(
        s
        for s in statements(shared, "aws:kms/key:Key", "pingvas-shared-operations-key", "policy")
        if s.get("Sid") == "PublishersEncrypt"
    )
    for allow in (topic_allow, key_allow):
        assert "events.rds.amazonaws.com" in publishers(allow)
        assert "elasticache.amazonaws.com" not in publishers(allow)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_elasticache_events_go_to_an_unencrypted_topic_it_may_publish_to(
    stack: str, shared: OfflineRun, tmp_path: Path
) -> None:
    """ElastiCache cannot publish to an encrypted topic and marks one whose policy uses
    aws:SourceAccount inactive: its topic is unencrypted and conditions on AWS:SourceOwner.
    A node-based cache (a serverless one reports through EventBridge: test_cache_events.py)."""
    (group,) = stack_runner(tmp_path)(stack, NODE_BASED_REDIS[stack]).of_type(GROUP)
    topic_arn = shared.outputs["cacheEventsTopicArn"]
    assert group.inputs["notificationTopicArn"] == topic_arn
    assert topic_arn != shared.outputs["operationsTopicArn"]
    cache_topic = shared.one("aws:sns/topic:Topic", "pingvas-shared-operations-cache-events")
    assert not cache_topic.inputs.get("kmsMasterKeyId")
    allow, deny = statements(
        shared,
        "aws:sns/topicPolicy:TopicPolicy",
        "pingvas-shared-operations-cache-events-policy",
        "policy",
    )
    assert allow["Condition"] == {"StringEquals": {"AWS:SourceOwner": "123456789012"}}
    assert allow["Action"] == "sns:Publish"
    assert deny["Effect"] == "Deny"


def test_previews_have_no_elasticache_to_report() -> None:
    """Control: pr-<N> runs Redis in its namespace; nothing there subscribes."""
    preview = run_stack("pr-7")
    assert preview.of_type(GROUP) == []
    assert preview.of_type(SUBSCRIPTION) == []
