"""Any long-lived environment name the stack-name rules allow works (issue 24, item 6):
a hyphen, a digit, the full 26 characters. What the platform must add for it is
stated by the tool, every edit at once, naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import tools.preview
from infra.stack_names import MAX_STACK_NAME_LENGTH
from tools.preview import main, preview_stack

NAMES = ("prod-eu", "staging-2", "eu-central-" + "x" * (MAX_STACK_NAME_LENGTH - 11))


def _platform_listing(folder: Path, environments: dict[str, str], gpu_limit: int) -> None:
    committed = yaml.safe_load(tools.preview.stack_file("shared").read_text())["config"]
    shared = {
        **committed,
        "pingvas:environments": environments,
        "pingvas:cluster": {"gpuNodePool": {"gpuLimit": gpu_limit}},
    }
    (folder / "Pulumi.shared.yaml").write_text(yaml.safe_dump({"config": shared}))


@pytest.mark.parametrize("name", NAMES)
def test_a_long_lived_environment_of_any_allowed_name_previews(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert len(NAMES[2]) == MAX_STACK_NAME_LENGTH
    _platform_listing(tmp_path, {"dev": "dev", "prod": "prod", name: "prod"}, 33)
    (tmp_path / f"Pulumi.{name}.yaml").write_text("config:\n  pingvas:profile: prod\n")
    monkeypatch.setattr(
        tools.preview, "stack_file", lambda stack: tmp_path / f"Pulumi.{stack}.yaml"
    )
    run = preview_stack(name)
    namespaces = [n.inputs["metadata"]["name"] for n in run.of_type("kubernetes:core/v1:Namespace")]
    assert name in namespaces
    assert run.outputs["redisMode"] == "serverless"  # ElastiCache, behind its security group
    assert (
        run.one("aws:elasticache/serverlessCache:ServerlessCache", f"pingvas-{name}-redis").inputs[
            "name"
        ]
        == f"pingvas-{name}-redis"
    )


def test_the_tool_states_every_platform_edit_a_new_environment_needs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_file = tmp_path / "Pulumi.prod-eu.yaml"
    config_file.write_text("config:\n  pingvas:profile: prod\n")
    assert main(["prod-eu", "--config-file", str(config_file)]) == 2
    err = capsys.readouterr().err
    assert "add prod-eu to pingvas:environments in Pulumi.shared.yaml" in err  # Redis's group
    assert "add prod-eu (with its profile) to pingvas:environments in Pulumi.shared.yaml" in err
    assert (
        "(dev 3 + prod 15 + prod-eu 15 = 33) exceed the platform's GPU node pool (18): raise "
        "pingvas:cluster.gpuNodePool.gpuLimit to 33 in Pulumi.shared.yaml"
    ) in err
    assert "Traceback" not in err


def test_a_platform_whose_environments_outgrow_its_gpu_pool_says_by_how_much(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _platform_listing(tmp_path, {"dev": "dev", "prod": "prod", "staging-2": "prod"}, 18)
    monkeypatch.setattr(
        tools.preview, "stack_file", lambda stack: tmp_path / f"Pulumi.{stack}.yaml"
    )
    assert main(["shared"]) == 2
    assert (
        "pingvas:cluster.gpuNodePool.gpuLimit: the environments' GPU workers at their maxima "
        "(dev 3 + prod 15 + staging-2 15 = 33) exceed the platform's GPU node pool (18)"
    ) in capsys.readouterr().err
