"""Alertmanager's rendered configuration: valid for `amtool check-config`, routes per SPEC §7
(critical → PagerDuty for prod only, warnings → Slack, info → the daily e-mail digest), and
no key in it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from components.operations.alertmanager import (
    PAGERDUTY_KEY,
    SECRETS_DIR,
    SLACK_WEBHOOK_KEY,
    AlertmanagerSettings,
    alertmanager_config,
)

AMTOOL = shutil.which("amtool")
needs_amtool = pytest.mark.skipif(
    AMTOOL is None, reason="amtool missing: run scripts/install-system-deps.sh"
)
TOPIC = "arn:aws:sns:us-east-1:123456789012:pingvas-shared-operations"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    config = alertmanager_config(
        AlertmanagerSettings(
            slack_channel="#pingvas-alerts", sns_topic_arn=TOPIC, region="us-east-1"
        )
    )
    path = tmp_path / "alertmanager.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _amtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert AMTOOL is not None
    return subprocess.run([AMTOOL, *args], capture_output=True, text=True, check=False)


@needs_amtool
def test_amtool_accepts_the_rendered_config(config_file: Path) -> None:
    result = _amtool("check-config", str(config_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 receivers" in result.stdout


@needs_amtool
def test_amtool_rejects_a_broken_config(config_file: Path) -> None:
    broken = config_file.read_text().replace("routing_key_file", "routing_key_path")
    config_file.write_text(broken)
    assert _amtool("check-config", str(config_file)).returncode != 0


@needs_amtool
@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        # SPEC §7: critical → PagerDuty, prod only (and the shared platform's own alerts);
        # Slack sees it too.
        (["severity=critical", "namespace=prod"], "pagerduty,slack"),
        (["severity=critical", "alertname=GpuNodeSpotInterrupted"], "pagerduty,slack"),
        (["severity=critical", "namespace=dev"], "slack"),
        (["severity=critical", "namespace=pr-42"], "slack"),
        # warning → Slack
        (["severity=warning", "namespace=prod"], "slack"),
        # info → the daily e-mail digest
        (["severity=info"], "email-digest"),
        (["alertname=Watchdog", "severity=none"], "null"),
    ],
    ids=str,
)
def test_routes(config_file: Path, labels: list[str], receivers: str) -> None:
    result = _amtool("config", "routes", "test", "--config.file", str(config_file), *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receivers


def test_digest_is_daily_and_keys_are_files_not_values() -> None:
    config = alertmanager_config(
        AlertmanagerSettings(slack_channel="#ops", sns_topic_arn=TOPIC, region="us-east-1")
    )
    (digest,) = [r for r in config["route"]["routes"] if r["receiver"] == "email-digest"]
    assert digest["group_interval"] == digest["repeat_interval"] == "24h"
    receivers = {r["name"]: r for r in config["receivers"]}
    (pagerduty,) = receivers["pagerduty"]["pagerduty_configs"]
    assert pagerduty == {
        "routing_key_file": f"{SECRETS_DIR}/{PAGERDUTY_KEY}",
        "send_resolved": True,
    }
    (slack,) = receivers["slack"]["slack_configs"]
    assert slack["api_url_file"] == f"{SECRETS_DIR}/{SLACK_WEBHOOK_KEY}"
    assert "api_url" not in slack
    assert "routing_key" not in pagerduty
    (sns,) = receivers["email-digest"]["sns_configs"]
    assert sns["topic_arn"] == TOPIC
