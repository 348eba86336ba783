"""Pulumi.yaml's config declarations agree with the config models, follow Pulumi's
rules for project config, and change nothing about any stack."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.config import EnvironmentSettings, PlatformSettings, load_stack_config
from infra.stack_file import project_defaults, read_stack_file
from tools.generate import config_schema
from tools.preview import REPO_ROOT, stack_file

PULUMI_TYPES = {"string": str, "integer": int, "boolean": bool}


def declared() -> dict[str, dict[str, object]]:
    config: dict[str, dict[str, object]] = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())[
        "config"
    ]
    return config


def test_pulumi_yaml_is_generated_from_the_models() -> None:
    assert config_schema.main(["--check"]) == 0
    keys = {
        f"pingvas:{field.alias}"
        for model in (PlatformSettings, EnvironmentSettings)
        for field in model.model_fields.values()
    }
    assert {key for key in declared() if key.startswith("pingvas:")} == keys
    assert declared()["pingvas:quota"]["description"] == (
        "environment: the namespace's ResourceQuota. Keys: cpu, memory, gpu, pods"
    )
    assert declared()["pingvas:costCenter"] == {
        "type": "string",
        "description": "the cost-center tag",
        "default": "pingvas",
    }


def test_a_stale_schema_is_detected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "Pulumi.yaml"
    stale.write_text(
        (REPO_ROOT / "Pulumi.yaml").read_text().replace("  pingvas:quota:\n", "  pingvas:quotas:\n")
    )
    monkeypatch.setattr(config_schema, "PROJECT_FILE", stale)
    assert config_schema.main(["--check"]) == 1
    assert config_schema.main([]) == 0
    assert config_schema.main(["--check"]) == 0


def test_declarations_follow_pulumis_project_config_rules() -> None:
    for key, declaration in declared().items():
        # A project key without a default or value is required on every stack.
        assert "default" in declaration or "value" in declaration, key
        assert not ("default" in declaration and "value" in declaration), key
        kind = declaration.get("type")
        if kind is not None:
            assert key.startswith("pingvas:"), f"{key}: only the project's keys may be typed"
            assert isinstance(declaration["default"], PULUMI_TYPES[str(kind)]), key
        assert "secret" not in declaration  # a plain default would then fail Pulumi's check


@pytest.mark.parametrize("stack", ["shared", "dev", "prod", "pr-7"])
def test_the_declared_defaults_change_no_stack(stack: str) -> None:
    path = stack_file(stack)
    own, secret_keys = read_stack_file(path) if path.exists() else ({}, [])
    defaults, _ = project_defaults(REPO_ROOT / "Pulumi.yaml")
    with_defaults = load_stack_config(stack, {**defaults, **own}, secret_keys)
    assert with_defaults == load_stack_config(stack, own, secret_keys)
