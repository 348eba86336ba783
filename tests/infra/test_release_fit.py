"""Cluster misfits caught offline (issue 24, item 4): a stack file whose release cannot fit
its namespace, names a priority class the platform neither creates nor admits, or sets
chart values that contradict each other exits 2 before anything is previewed, naming the
key; the committed stacks pass the same check."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.chart_checks import contradictions
from app.chart_layers import ValuesLayers
from app.chart_values import ValuesProfile
from stacks.release_fit import sizing_values
from tests.support.chart import release_values
from tools.preview import load_stack, main

PROFILES = {"dev": "dev", "prod": "prod", "pr-7": "ephemeral"}


def refusal(stack: str, content: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    config_file = tmp_path / "candidate.yaml"
    config_file.write_text(content)
    status = main([stack, "--config-file", str(config_file)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return captured.err if status == 2 else f"accepted ({status})"


@pytest.mark.parametrize(
    ("stack", "content", "message"),
    [
        # the release at its maximum (dev: 5 services, 3 GPU workers, a surge) vs the quota
        ("dev", "config:\n  pingvas:quota:\n    cpu: 1\n", "pingvas:quota.cpu: the release needs"),
        ("dev", "config:\n  pingvas:quota:\n    memory: 8Gi\n", "pingvas:quota.memory:"),
        ("dev", "config:\n  pingvas:quota:\n    pods: 8\n", "pingvas:quota.pods: the release"),
        # prod's HPA maximum (15 per service) counts, not its minimum replicas
        ("prod", "config:\n  pingvas:quota:\n    pods: 60\n", "pingvas:quota.pods:"),
        # a class the platform does not create, and another environment's
        (
            "dev",
            "config:\n  pingvas:priorityClass:\n    name: dev-high\n    value: 100000\n",
            "pingvas:priorityClass.name: 'dev-high' is not a class the platform creates",
        ),
        (
            "pr-7",
            "config:\n  pingvas:priorityClass:\n    name: prod-high\n    value: 1000000\n",
            "pingvas:priorityClass.name: 'prod-high' is not a class the platform creates "
            "and admits for a ephemeral environment",
        ),
        (
            "dev",
            "config:\n  pingvas:priorityClass:\n    name: dev-low\n    value: 5\n",
            "pingvas:priorityClass.value: 5 is not the value of the platform's dev-low",
        ),
        # chart values that contradict each other: HPA minimum above its maximum
        (
            "prod",
            "config:\n  pingvas:services:\n    replicas: 20\n    autoscaling: true\n",
            "pingvas:services.replicas: 20 is above api.autoscaling.maxReplicas (15)",
        ),
    ],
)
def test_a_misfit_is_refused_before_the_program_runs_naming_the_key(
    stack: str, content: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert message in refusal(stack, content, tmp_path, capsys)


@pytest.mark.parametrize(
    ("stack", "content"),
    [
        # controls: the same keys, set to what fits
        ("dev", "config:\n  pingvas:quota:\n    cpu: 8\n    pods: 20\n"),
        ("prod", "config:\n  pingvas:services:\n    replicas: 15\n    autoscaling: true\n"),
        ("prod", "config:\n  pingvas:services:\n    replicas: 20\n    autoscaling: false\n"),
        ("dev", "config:\n  pingvas:priorityClass:\n    name: dev-low\n    value: 100000\n"),
    ],
)
def test_the_same_keys_set_to_what_fits_are_accepted(
    stack: str, content: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert refusal(stack, content, tmp_path, capsys) == "accepted (0)"


@pytest.mark.parametrize("stack", list(PROFILES))
def test_the_check_sees_the_values_the_release_sends(stack: str) -> None:
    """The config check's sizing values are the release's own (no drift between them)."""
    settings = load_stack(stack)[0].environment
    assert settings is not None
    sent = release_values(stack)
    checked = sizing_values(settings)
    assert sent["priorityClassName"] == checked["priorityClassName"]
    assert sent["api"]["replicas"] == checked["api"]["replicas"]
    assert sent["api"]["autoscaling"]["enabled"] == checked["api"]["autoscaling"]["enabled"]
    assert {k: sent["worker"][k] for k in ("minReplicas", "maxReplicas")} == checked["worker"]


def layered(profile: ValuesProfile, **overrides: object) -> ValuesLayers:
    return ValuesLayers(dict(overrides), profile)


@pytest.mark.parametrize("profile", ["dev", "prod", "ephemeral"])
def test_the_committed_chart_values_agree_with_each_other(profile: ValuesProfile) -> None:
    assert contradictions(layered(profile).validated()) == []


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"api": {"resources": {"requests": {"cpu": "3"}}}}, "api.resources.requests.cpu"),
        (
            {"worker": {"resources": {"requests": {"memory": "16Gi"}}}},
            "worker.resources.requests.memory",
        ),
        (
            {"worker": {"resources": {"requests": {"nvidia.com/gpu": 0}}}},
            "worker.resources.requests.nvidia.com/gpu",
        ),
        ({"worker": {"minReplicas": 4, "maxReplicas": 2}}, "worker.minReplicas"),
        (
            {"api": {"replicas": 3, "autoscaling": {"enabled": True, "maxReplicas": 2}}},
            "api.replicas",
        ),
    ],
)
def test_contradicting_chart_values_name_their_key(overrides: dict[str, object], key: str) -> None:
    values = layered("prod", **overrides).validated()
    assert [found for found, _ in contradictions(values)] == [key]


def test_requests_equal_to_limits_and_a_disabled_hpa_are_no_contradiction() -> None:
    values = layered(
        "prod",
        api={
            "replicas": 3,
            "autoscaling": {"enabled": False, "maxReplicas": 2},
            "resources": {"requests": {"cpu": "2"}},
        },
    ).validated()
    assert contradictions(values) == []
