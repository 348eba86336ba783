"""The chart's values are modelled once (app/chart_values.py): the schema Helm enforces and
the README's table are generated from the model, and a wrong value stops `helm install`
(and `helm lint`) with Helm's own message, as it stops the Pulumi release first."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml
from pydantic import ValidationError

from app import chart_layers
from app.chart_layers import ValuesLayers, chart_defaults
from app.chart_values import CHART_DIR, ChartValues
from infra.config import ConfigError
from infra.merge import deep_merge
from tests.support.chart import KUBE_VERSION, STACKS, Render
from tools.generate import chart_schema
from tools.preview import preview_stack, stack_file

HELM_SCHEMA_ERROR = "values don't meet the specifications of the schema(s)"
TEMPLATE_VALUE = re.compile(r"\.Values((?:\.[A-Za-z][A-Za-z0-9]*)+)")


def test_the_committed_schema_is_the_models() -> None:
    committed = chart_schema.SCHEMA_FILE.read_text()
    assert committed == chart_schema.schema_text(), "run: python -m tools.generate.chart_schema"


def test_the_readme_values_table_is_the_models() -> None:
    committed = chart_schema.README_FILE.read_text()
    assert committed == chart_schema.readme_text(), "run: python -m tools.generate.chart_schema"
    # One row per value, with its values.yaml default.
    assert "| `worker.maxReplicas` | integer ≥ 0 | `1` |" in committed
    assert '| `image.pullPolicy` | `Always` \\| `IfNotPresent` \\| `Never` | `"Always"` |' in (
        committed
    )


def test_the_check_mode_reports_a_stale_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = tmp_path / "values.schema.json"
    stale.write_text("{}\n")
    monkeypatch.setattr(chart_schema, "SCHEMA_FILE", stale)
    assert chart_schema.main(["--check"]) == 1
    assert stale.read_text() == "{}\n"  # --check writes nothing
    assert chart_schema.main([]) == 0
    assert stale.read_text() == chart_schema.schema_text()


def test_every_value_a_template_reads_is_in_the_model() -> None:
    schema = chart_schema.values_schema()

    def known(path: list[str]) -> bool:
        node: dict[str, Any] = schema
        for key in path:
            if "$ref" in node:
                node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
            if "patternProperties" in node:
                return True  # a map: any key its pattern allows
            if key not in node.get("properties", {}):
                return False
            node = node["properties"][key]
        return True

    read = {
        match.group(1)[1:]
        for template in (CHART_DIR / "templates").rglob("*")
        if template.is_file()
        for match in TEMPLATE_VALUE.finditer(template.read_text())
    }
    assert len(read) > 40
    assert sorted(path for path in read if not known(path.split("."))) == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_stacks_release_values_satisfy_the_model(
    renders: dict[str, Render], stack: str
) -> None:
    values = ValuesLayers(renders[stack].values).validated()
    assert values.environment == stack
    assert values.worker.max_replicas == renders[stack].values["worker"]["maxReplicas"]


# A wrong value, Helm's message (its JSON pointer and complaint), the model's location.
WRONG_VALUES = [
    ({"api": {"replicas": "five"}}, "at '/api/replicas': got string, want integer", "api.replicas"),
    (
        {"worker": {"maxReplicas": -1}},
        "at '/worker/maxReplicas': minimum: got -1, want 0",
        "worker.maxReplicas",
    ),
    (
        {"image": {"pullPolicy": "Sometimes"}},
        "at '/image/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'",
        "image.pullPolicy",
    ),
    ({"api": {"replica": 3}}, "at '/api': additional properties 'replica' not allowed", "replica"),
    ({"redis": {"tls": "yes"}}, "at '/redis/tls': got string, want boolean", "redis.tls"),
    (
        {"aws": {"region": "virginia"}},
        "at '/aws/region': 'virginia' does not match pattern",
        "aws.region",
    ),
    (
        {"secrets": {"appSecretArns": {"jwt_secret": "arn:aws:secretsmanager:x"}}},
        "at '/secrets/appSecretArns': additional properties 'jwt_secret' not allowed",
        "secrets.appSecretArns.jwt_secret",
    ),
    (
        {"api": {"services": {"user": {"port": 80800}}}},
        "at '/api/services/user/port': maximum: got 80,800, want 65,535",
        "api.services.user.port",
    ),
]


@pytest.mark.parametrize(("wrong", "helm_says", "model_names"), WRONG_VALUES)
def test_helm_install_and_lint_refuse_a_wrong_value_with_helms_schema_message(
    renders: dict[str, Render], wrong: dict[str, Any], helm_says: str, model_names: str
) -> None:
    values = deep_merge(renders["dev"].values, wrong)
    chart = helm_python.Chart.load(str(CHART_DIR))
    with pytest.raises(helm_python.HelmValuesError) as install:
        chart.render(values, name="pingvas", namespace="dev", is_install=True)
    assert HELM_SCHEMA_ERROR in str(install.value)
    assert helm_says in str(install.value)
    lint = helm_python.lint(
        str(CHART_DIR), values, strict=True, namespace="dev", kube_version=f"v{KUBE_VERSION}"
    )
    assert any(helm_says in error for error in lint["errors"]), lint["errors"]
    # The model refuses it too, naming the key: the release fails before Helm is asked.
    with pytest.raises(ValidationError, match=re.escape(model_names)):
        ValuesLayers(values).validated()


def test_the_chart_defaults_alone_pass_the_schema() -> None:
    """`helm lint` of the bare chart: only `required` values missing, no schema error."""
    ChartValues.model_validate(chart_defaults())
    lint = helm_python.lint(str(CHART_DIR), None, kube_version=f"v{KUBE_VERSION}")
    assert not any(HELM_SCHEMA_ERROR in error for error in lint["errors"])


def test_the_release_refuses_values_the_chart_would(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong value in a values file fails the preview, naming the key, not the deploy."""
    committed = yaml.safe_load((CHART_DIR / "values-dev.yaml").read_text())
    wrong = deep_merge(committed, {"api": {"autoscaling": {"targetCPUUtilizationPercentage": 170}}})
    monkeypatch.setattr(chart_layers, "profile_values", lambda _profile: wrong)
    # Refused with the stack's config, before any resource (stacks/release_fit.py).
    with pytest.raises(ConfigError, match=r"api\.autoscaling\.targetCPUUtilizationPercentage"):
        preview_stack("dev", stack_file("dev"))  # a config file: not the cached preview
