"""SPEC §6.5, §7, §9 in the shared stack: the monitoring stack, its custom resources
against the operator's CRDs, the CloudWatch alarm, the notifications topic, log shipping,
and the account's audit trail."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import chart_versions
from components.cluster.platform_namespaces import PLATFORM_NAMESPACES
from components.data.model_store import BACKUP_EVENTS
from components.operations.alert_rules import prometheus_rule_groups
from infra.config import ConfigError
from pulumi_offline import OfflineRun, RecordedResource
from tests.support.crds import CRDS, crd_errors
from tests.support.preview import custom_resource, policies_of_role, release
from tests.support.stacks import NODE_BASED_REDIS, run_stack

TOPIC = "aws:sns/topic:Topic"


def kube_prometheus_stack(run: OfflineRun) -> dict[str, Any]:
    found = release(run, "kube-prometheus-stack")
    assert found.inputs["chart"] == "kube-prometheus-stack"
    assert found.inputs["version"] == chart_versions.KUBE_PROMETHEUS_STACK.version
    assert found.inputs["namespace"] == "monitoring"
    values: dict[str, Any] = found.inputs["values"]
    return values


def topic(run: OfflineRun) -> RecordedResource:
    return run.one(TOPIC, "pingvas-shared-operations")


def test_prometheus_scrapes_every_15s_and_keeps_15_days_on_50gi_encrypted_gp3(
    shared: OfflineRun,
) -> None:
    spec = kube_prometheus_stack(shared)["prometheus"]["prometheusSpec"]
    assert spec["scrapeInterval"] == spec["evaluationInterval"] == "15s"  # SPEC §7
    assert spec["retention"] == "15d"
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"]["storage"] == "50Gi"
    (storage_class,) = [
        c
        for c in shared.of_type("kubernetes:storage.k8s.io/v1:StorageClass")
        if c.inputs["metadata"]["name"] == claim["storageClassName"]
    ]
    assert storage_class.inputs["parameters"] == {"type": "gp3", "encrypted": "true"}
    # Everyone's monitors and rules are picked up, not only the chart's own.
    assert spec["serviceMonitorSelectorNilUsesHelmValues"] is False
    assert spec["podMonitorSelectorNilUsesHelmValues"] is False
    assert spec["ruleSelectorNilUsesHelmValues"] is False


def test_prometheus_reads_no_file_for_a_tenant_and_enforces_its_namespace(
    shared: OfflineRun,
) -> None:
    """Issue 22, item 6: the operator drops ServiceMonitors naming Prometheus's files, and
    a tenant's series carry its namespace; only the platform's namespaces are exempt."""
    spec = kube_prometheus_stack(shared)["prometheus"]["prometheusSpec"]
    assert spec["arbitraryFSAccessThroughSMs"] == {"deny": True}
    assert spec["enforcedNamespaceLabel"] == "namespace"
    exempt = {entry["namespace"] for entry in spec["excludedFromEnforcement"]}
    assert exempt == {*PLATFORM_NAMESPACES, "kube-system"}
    assert not any(ns.startswith("pr-") or ns in ("dev", "prod") for ns in exempt)


def test_the_pinned_chart_ships_the_vendored_operator_crds() -> None:
    readme = (CRDS / "README.md").read_text()
    stack = chart_versions.KUBE_PROMETHEUS_STACK
    pinned = re.search(
        rf"kube-prometheus-stack\*\* {re.escape(stack.version)}.*?operator \*\*(v[0-9.]+)\*\*",
        readme,
        flags=re.DOTALL,
    )
    assert pinned, "vendor/crds/README.md must name the pinned kube-prometheus-stack"
    vendored = re.search(r"prometheus-operator, tag \*\*(v[0-9.]+)\*\*", readme)
    assert vendored
    assert vendored.group(1) == pinned.group(1)


def test_custom_resources_match_the_operator_crds(shared: OfflineRun) -> None:
    kinds = [
        "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
        "kubernetes:monitoring.coreos.com/v1:PodMonitor",
        "kubernetes:external-secrets.io/v1:ExternalSecret",
    ]
    checked = 0
    for kind in kinds:
        for resource in shared.of_type(kind):
            assert crd_errors(custom_resource(resource)) == [], resource.name
            checked += 1
    assert checked == 8  # with the schema owners' ExternalSecret (components/data/schema_owners.py)


def test_prometheus_rule_holds_every_alert(shared: OfflineRun) -> None:
    (rule,) = shared.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
    assert rule.inputs["metadata"]["namespace"] == "monitoring"
    assert rule.inputs["spec"]["groups"] == prometheus_rule_groups()


def test_controllers_are_scraped(shared: OfflineRun) -> None:
    monitors = {
        m.inputs["metadata"]["name"]: m.inputs["spec"]
        for m in shared.of_type("kubernetes:monitoring.coreos.com/v1:PodMonitor")
    }
    assert set(monitors) == {
        "pingvas-karpenter",
        "pingvas-keda-operator",
        "pingvas-keda-metrics-apiserver",
        "pingvas-aws-load-balancer-controller",
        "pingvas-dcgm-exporter",
    }
    dcgm = monitors["pingvas-dcgm-exporter"]
    assert dcgm["namespaceSelector"] == {"matchNames": ["kube-system"]}
    assert dcgm["podMetricsEndpoints"] == [
        {"port": "metrics", "path": "/metrics", "interval": "15s"}
    ]
    keda = release(shared, "keda").inputs["values"]
    assert keda["prometheus"]["operator"]["enabled"] is True


def test_only_prometheus_reaches_the_exporters(shared: OfflineRun) -> None:
    policies = {
        p.inputs["metadata"]["name"]: p.inputs
        for p in shared.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    }
    dcgm = policies["prometheus-in-dcgm-exporter"]
    assert dcgm["metadata"]["namespace"] == "kube-system"
    (rule,) = dcgm["spec"]["ingress"]
    assert rule["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
        }
    ]
    assert rule["ports"] == [{"protocol": "TCP", "port": 9400}]
    assert policies["prometheus-in-karpenter"]["spec"]["ingress"][0]["ports"] == [
        {"protocol": "TCP", "port": 8080}
    ]


def test_grafana_reads_cloudwatch_through_pod_identity(shared: OfflineRun) -> None:
    grafana = kube_prometheus_stack(shared)["grafana"]
    (source,) = grafana["additionalDataSources"]
    assert source["type"] == "cloudwatch"
    assert source["jsonData"] == {"authType": "default", "defaultRegion": "us-east-1"}
    (association,) = [
        a
        for a in shared.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if a.inputs["serviceAccount"] == grafana["serviceAccount"]["name"]
    ]
    assert association.inputs["namespace"] == "monitoring"
    role = shared.by_id(association.inputs["roleArn"].rsplit("/", 1)[-1])
    (policy,) = policies_of_role(shared, role)
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert "cloudwatch:GetMetricData" in actions
    assert all(
        a.split(":")[1].startswith(("Get", "List", "Describe", "Start", "Stop")) for a in actions
    )


needs_amtool = pytest.mark.skipif(shutil.which("amtool") is None, reason="amtool missing")


@needs_amtool
def test_the_deployed_alertmanager_config_passes_amtool(shared: OfflineRun, tmp_path: Path) -> None:
    alertmanager = kube_prometheus_stack(shared)["alertmanager"]
    config = alertmanager["config"]
    path = tmp_path / "alertmanager.yaml"
    path.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        ["amtool", "check-config", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (sns,) = next(r for r in config["receivers"] if r["name"] == "email-digest")["sns_configs"]
    assert sns["topic_arn"] == shared.outputs["operationsTopicArn"]
    assert alertmanager["alertmanagerSpec"]["secrets"] == ["alertmanager-receivers"]


def test_receiver_keys_come_from_secrets_manager(shared: OfflineRun) -> None:
    (external,) = [
        e
        for e in shared.of_type("kubernetes:external-secrets.io/v1:ExternalSecret")
        if e.inputs["metadata"]["namespace"] == "monitoring"
    ]
    spec = external.inputs["spec"]
    # The namespace's own store (there is no cluster-wide one), which reads this secret only.
    assert spec["secretStoreRef"] == {"kind": "SecretStore", "name": "aws-secrets-manager"}
    secret = shared.one("aws:secretsmanager/secret:Secret", "pingvas-shared-alerting")
    store = shared.one("aws:iam/rolePolicy:RolePolicy", "pingvas-shared-monitoring-secret-store")
    read = json.loads(store.inputs["policy"])["Statement"][0]
    assert read["Resource"] == [
        f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{secret.inputs['name']}-*"
    ]
    assert {d["remoteRef"]["key"] for d in spec["data"]} == {secret.inputs["name"]}
    assert {d["secretKey"] for d in spec["data"]} == {"slack-webhook-url", "pagerduty-routing-key"}
    # The value is set out of band: the stack holds no version of it.
    versions = shared.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert all(v.inputs["secretId"] != secret.id for v in versions)


def test_spec_rds_cpu_row_is_a_cloudwatch_alarm_to_the_topic(shared: OfflineRun) -> None:
    """SPEC §7: critical | RDS CPU > 90% | 5 min | PagerDuty."""
    alarm = shared.one("aws:cloudwatch/metricAlarm:MetricAlarm", "pingvas-shared-aurora-cpu")
    inputs = alarm.inputs
    assert (inputs["namespace"], inputs["metricName"]) == ("AWS/RDS", "CPUUtilization")
    assert inputs["dimensions"] == {"DBClusterIdentifier": "pingvas-shared-aurora"}
    assert inputs["comparisonOperator"] == "GreaterThanThreshold"
    assert inputs["threshold"] == 90
    assert inputs["period"] * inputs["evaluationPeriods"] == 5 * 60
    assert inputs["datapointsToAlarm"] == inputs["evaluationPeriods"]
    topic_arn = shared.outputs["operationsTopicArn"]
    assert inputs["alarmActions"] == [topic_arn]


def test_spec_redis_lag_row_is_a_cloudwatch_alarm_on_every_prod_node(
    stack_with: Callable[..., OfflineRun],
) -> None:
    """SPEC §7: critical | Redis replication lag > 5 s | 2 min | PagerDuty, on a node-based
    prod (primary and replica). prod's default, Serverless, has no replica to lag: AWS
    replicates across zones itself and publishes no ReplicationLag (decision 0117)."""
    default = run_stack("prod").of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert all(a.inputs.get("metricName") != "ReplicationLag" for a in default)
    prod = stack_with("prod", NODE_BASED_REDIS["prod"])
    alarms = [
        a
        for a in prod.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.inputs["metricName"] == "ReplicationLag"
    ]
    nodes = {a.inputs["dimensions"]["CacheClusterId"] for a in alarms}
    assert nodes == {f"pingvas-prod-redis-00{n}" for n in (1, 2)}
    for alarm in alarms:
        inputs = alarm.inputs
        assert (inputs["namespace"], inputs["metricName"]) == ("AWS/ElastiCache", "ReplicationLag")
        assert inputs["threshold"] == 5
        assert inputs["period"] * inputs["evaluationPeriods"] == 2 * 60
        assert inputs["alarmActions"] == [run_stack("shared").outputs["operationsTopicArn"]]
    # dev's standalone Redis has no replica to lag.
    dev = run_stack("dev").of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert all(a.inputs["metricName"] != "ReplicationLag" for a in dev)


def test_topic_is_encrypted_and_lets_only_our_account_publish(shared: OfflineRun) -> None:
    sns = topic(shared)
    key = shared.one("aws:kms/key:Key", "pingvas-shared-operations-key")
    assert sns.inputs["kmsMasterKeyId"].endswith(key.id)
    assert key.inputs["enableKeyRotation"] is True
    policy = shared.one("aws:sns/topicPolicy:TopicPolicy", "pingvas-shared-operations-policy")
    document = json.loads(policy.inputs["policy"])
    allow = next(s for s in document["Statement"] if s["Effect"] == "Allow")
    assert allow["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert "backup.amazonaws.com" in allow["Principal"]["Service"]


def test_alert_emails_subscribe_to_the_topic(stack_with: Callable[..., OfflineRun]) -> None:
    run = stack_with("shared", {"pingvas:operations": {"alertEmails": ["oncall@example.com"]}})
    subscriptions = run.of_type("aws:sns/topicSubscription:TopicSubscription")
    # The operations topic and ElastiCache's unencrypted one (test_backup_events.py).
    assert {s.inputs["topic"] for s in subscriptions} == {
        run.outputs["operationsTopicArn"],
        run.outputs["cacheEventsTopicArn"],
    }
    for subscription in subscriptions:
        assert subscription.inputs["protocol"] == "email"
        assert subscription.inputs["endpoint"] == "oncall@example.com"
    (digest,) = run.of_type("aws:costexplorer/anomalySubscription:AnomalySubscription")
    assert digest.inputs["frequency"] == "DAILY"  # SPEC §7: daily cost report
    (monitor,) = run.of_type("aws:costexplorer/anomalyMonitor:AnomalyMonitor")
    (monitor_arn,) = digest.inputs["monitorArnLists"]
    assert monitor_arn.endswith(monitor.id)
    assert json.loads(monitor.inputs["monitorSpecification"])["Tags"]["Values"] == ["pingvas"]


def test_bad_alert_email_is_refused_naming_the_key(stack_with: Callable[..., OfflineRun]) -> None:
    with pytest.raises(ConfigError, match=r"operations\.alertEmails"):
        stack_with("shared", {"pingvas:operations": {"alertEmails": ["not-an-address"]}})


def test_backup_jobs_report_to_the_topic(shared: OfflineRun) -> None:
    """SPEC §7: info | backup completion | daily | email."""
    (notifications,) = shared.of_type("aws:backup/vaultNotifications:VaultNotifications")
    assert notifications.inputs["snsTopicArn"] == shared.outputs["operationsTopicArn"]
    assert set(notifications.inputs["backupVaultEvents"]) == set(BACKUP_EVENTS)
    assert {"BACKUP_JOB_COMPLETED", "BACKUP_JOB_FAILED"} <= set(BACKUP_EVENTS)


def test_pod_logs_go_to_cloudwatch_and_the_logs_bucket(shared: OfflineRun) -> None:
    group = shared.one("aws:cloudwatch/logGroup:LogGroup", "pingvas-shared-logs-pods")
    assert group.inputs["retentionInDays"] == 30
    fluent_bit = release(shared, "fluent-bit").inputs
    assert fluent_bit["values"]["kind"] == "DaemonSet"
    outputs = fluent_bit["values"]["config"]["outputs"]
    assert f"log_group_name {group.inputs['name']}" in outputs
    assert f"bucket {shared.outputs['logsBucketName']}" in outputs
    assert "s3_key_format /pods/" in outputs
    tolerations = fluent_bit["values"]["tolerations"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in tolerations


def test_cloudtrail_is_multi_region_validated_under_its_own_prefix(shared: OfflineRun) -> None:
    (trail,) = shared.of_type("aws:cloudtrail/trail:Trail")
    inputs = trail.inputs
    assert inputs["isMultiRegionTrail"] is True
    assert inputs["enableLogFileValidation"] is True
    assert inputs["includeGlobalServiceEvents"] is True
    assert inputs["s3BucketName"] == shared.outputs["logsBucketName"]
    assert inputs["s3KeyPrefix"] == "cloudtrail"
    bucket_policy = next(
        json.loads(p.inputs["policy"])
        for p in shared.of_type("aws:s3/bucketPolicy:BucketPolicy")
        if p.name == "pingvas-shared-logs-policy"
    )
    writes = next(s for s in bucket_policy["Statement"] if s.get("Sid") == "CloudTrailWrites")
    assert writes["Resource"].endswith("/cloudtrail/AWSLogs/123456789012/*")
    trail_arn = "arn:aws:cloudtrail:us-east-1:123456789012:trail/pingvas-shared-trail"
    assert writes["Condition"] == {"StringEquals": {"aws:SourceArn": trail_arn}}
    assert inputs["name"] == trail_arn.rsplit("/", 1)[-1]
    lifecycle = next(
        r
        for r in shared.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
        if r.name == "pingvas-shared-logs-lifecycle"
    )
    rules = {rule["id"]: rule for rule in lifecycle.inputs["rules"]}
    assert rules["audit"]["filter"] == {"prefix": "cloudtrail/"}
    assert rules["audit"]["expiration"] == {"days": 365}
    for operational in ("expire-alb", "expire-pods"):
        assert rules[operational]["expiration"] == {"days": 30}  # SPEC §4


def test_guardduty_watches_eks(shared: OfflineRun) -> None:
    (detector,) = shared.of_type("aws:guardduty/detector:Detector")
    assert detector.inputs["enable"] is True
    features = {
        f.inputs["name"]: f.inputs
        for f in shared.of_type("aws:guardduty/detectorFeature:DetectorFeature")
    }
    assert features["EKS_AUDIT_LOGS"]["status"] == "ENABLED"
    runtime = features["RUNTIME_MONITORING"]
    assert runtime["additionalConfigurations"] == [
        {"name": "EKS_ADDON_MANAGEMENT", "status": "ENABLED"}
    ]
    assert all(f["detectorId"] == detector.id for f in features.values())


def test_monthly_budget_mails_before_it_is_spent(shared: OfflineRun) -> None:
    (budget,) = shared.of_type("aws:budgets/budget:Budget")
    inputs = budget.inputs
    assert (inputs["budgetType"], inputs["timeUnit"]) == ("COST", "MONTHLY")
    assert (inputs["limitAmount"], inputs["limitUnit"]) == ("1250.00", "USD")  # SPEC §8
    kinds = {n["notificationType"]: n for n in inputs["notifications"]}
    assert kinds["ACTUAL"]["threshold"] == 80
    assert kinds["FORECASTED"]["threshold"] == 100
    for notification in kinds.values():
        assert notification["subscriberSnsTopicArns"] == [shared.outputs["operationsTopicArn"]]


def test_account_blocks_public_s3(shared: OfflineRun) -> None:
    (block,) = shared.of_type("aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock")
    assert block.inputs == {
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }


def test_dashboards_are_provisioned_to_grafana(shared: OfflineRun) -> None:
    maps = {
        m.inputs["metadata"]["name"]: m.inputs
        for m in shared.of_type("kubernetes:core/v1:ConfigMap")
        if m.inputs["metadata"].get("labels", {}).get("grafana_dashboard") == "1"
    }
    assert set(maps) == {"dashboard-business", "dashboard-generation", "dashboard-infrastructure"}
    for name, config_map in maps.items():
        assert config_map["metadata"]["namespace"] == "monitoring"
        (document,) = config_map["data"].values()
        assert json.loads(document)["uid"] == f"pingvas-{name.removeprefix('dashboard-')}"
        picture = Path(__file__).resolve().parents[2] / f"docs/dashboards/{name[10:]}.png"
        assert picture.stat().st_size > 10_000  # tools/generate/dashboards.py draws it
    assert kube_prometheus_stack(shared)["grafana"]["sidecar"]["dashboards"]["enabled"] is True
