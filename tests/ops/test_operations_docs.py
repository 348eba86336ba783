"""docs/operations.md and the runbooks stay true to the code: every alert's `runbook_url`
lands on a section, and every data store has a runbook stating SPEC §9's targets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.worker.runner import WorkerOptions
from components.operations.alert_rules import ALERTS, RUNBOOK_PAGE, Alert

ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = ROOT / "docs/runbooks"


@pytest.mark.parametrize("alert", ALERTS, ids=lambda alert: alert.name)
def test_every_alert_has_a_section_its_runbook_url_points_to(alert: Alert) -> None:
    page = (ROOT / RUNBOOK_PAGE).read_text()
    assert f"\n### {alert.name}\n" in page
    anchor = f"{RUNBOOK_PAGE}#{alert.name.lower()}"
    assert alert.rule()["annotations"]["runbook_url"] == anchor


@pytest.mark.parametrize("store", ["aurora", "redis", "efs", "s3-object", "namespace"])
def test_each_store_has_a_runbook_with_spec_targets(store: str) -> None:
    text = (RUNBOOKS / f"{store}.md").read_text()
    assert "Targets (SPEC §9):" in text
    assert "prod 1 h" in text
    assert "met" in text  # each states whether this configuration meets them
    assert f"({store}.md)" in (RUNBOOKS / "README.md").read_text()


def test_runbooks_say_where_the_configuration_falls_short() -> None:
    assert "not meet prod's 1 h" in " ".join((RUNBOOKS / "redis.md").read_text().split())
    assert "RPO 7 days — not met" in (RUNBOOKS / "efs.md").read_text()


def test_the_redis_runbook_leaves_re_enqueueing_to_the_workers() -> None:
    """The GPU workers re-enqueue from PostgreSQL what Redis lost (app/worker/recovery.py):
    the runbook says so with the code's sweep period and has nobody re-submit jobs."""
    text = " ".join((RUNBOOKS / "redis.md").read_text().split())
    sweep_minutes = WorkerOptions(consumer="runbook").requeue_sweep_seconds / 60
    assert f"the sweep every {sweep_minutes:g} minutes (`requeue_sweep_seconds`)" in text
    assert "nothing to re-submit or refund by hand" in text
    assert not re.search(r"re-submit(ted)? or refund(ed)? (them|by hand \()", text)
