"""Alertmanager's configuration (SPEC §7 channels), as the `alertmanager.yaml` it reads.

No key is in it: the Slack webhook and the PagerDuty routing key are files that
Alertmanager reads from a Secret, which External Secrets fills from Secrets Manager
(`components.operations.monitoring`); the e-mail digest goes out through the SNS topic
with the pod's own AWS identity. `amtool check-config` validates the rendered file in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

# The Kubernetes Secret holding the receivers' keys, and its keys; the operator mounts
# `alertmanagerSpec.secrets` at /etc/alertmanager/secrets/<secret>/<key>.
RECEIVERS_SECRET = "alertmanager-receivers"  # noqa: S105 (a name, not a secret)
SLACK_WEBHOOK_KEY = "slack-webhook-url"
PAGERDUTY_KEY = "pagerduty-routing-key"
SECRETS_DIR = f"/etc/alertmanager/secrets/{RECEIVERS_SECRET}"
# Namespaces whose critical alerts go to Slack, not PagerDuty: only prod (and the shared
# platform, whose alerts carry no environment's namespace) wakes someone up.
NON_PAGING_NAMESPACES = "dev|pr-.*"


@dataclass(frozen=True)
class AlertmanagerSettings:
    slack_channel: str
    sns_topic_arn: pulumi.Input[str]
    region: str


def alertmanager_config(settings: AlertmanagerSettings) -> dict[str, Any]:
    return {
        "route": {
            "receiver": "slack",
            "group_by": ["alertname", "namespace"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [
                # kube-prometheus-stack's always-firing alerts: a dead man's switch and
                # the inhibitor of info alerts; neither is news.
                {"matchers": ['alertname=~"Watchdog|InfoInhibitor"'], "receiver": "null"},
                {
                    "matchers": ['severity="critical"', f'namespace!~"{NON_PAGING_NAMESPACES}"'],
                    "receiver": "pagerduty",
                    "repeat_interval": "1h",
                    "continue": True,  # and to Slack, so the channel sees what paged
                },
                {"matchers": ['severity=~"critical|warning"'], "receiver": "slack"},
                {
                    # The daily digest: everything informational, one e-mail a day.
                    "matchers": ['severity="info"'],
                    "receiver": "email-digest",
                    "group_by": ["..."],
                    "group_wait": "1h",
                    "group_interval": "24h",
                    "repeat_interval": "24h",
                },
            ],
        },
        "inhibit_rules": [
            {
                "source_matchers": ['severity="critical"'],
                "target_matchers": ['severity=~"warning|info"'],
                "equal": ["alertname", "namespace"],
            }
        ],
        "receivers": [
            {"name": "null"},
            {
                "name": "pagerduty",
                "pagerduty_configs": [
                    {
                        "routing_key_file": f"{SECRETS_DIR}/{PAGERDUTY_KEY}",
                        "send_resolved": True,
                    }
                ],
            },
            {
                "name": "slack",
                "slack_configs": [
                    {
                        "api_url_file": f"{SECRETS_DIR}/{SLACK_WEBHOOK_KEY}",
                        "channel": settings.slack_channel,
                        "send_resolved": True,
                        "title": "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}",
                        "text": "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ end }}",
                    }
                ],
            },
            {
                "name": "email-digest",
                "sns_configs": [
                    {
                        "topic_arn": settings.sns_topic_arn,
                        "sigv4": {"region": settings.region},
                        "subject": "Pingvas daily digest: {{ len .Alerts }} notices",
                    }
                ],
            },
        ],
    }
