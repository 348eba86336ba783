"""A stack's profile, not its name, decides its sizes, chart values and protection
(issue 21): a `staging` stack declared `prod` previews as prod does, on its own hostnames."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

import tools.preview
from infra.config import ConfigError, Profile, load_stack_config
from pulumi_offline import OfflineRun
from tests.support.stacks import run_stack
from tools.preview import preview_stack

ENVIRONMENTS = {"dev": "dev", "prod": "prod", "staging": "prod"}


@pytest.fixture(scope="module")
def with_staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, OfflineRun]]:
    """`staging`, declared prod, and the platform that lists it among its environments."""
    folder = tmp_path_factory.mktemp("stacks")
    committed = yaml.safe_load(tools.preview.stack_file("shared").read_text())["config"]
    # Room in the GPU pool for staging's 15 workers besides dev's 3 and prod's 15.
    pool = {"pingvas:cluster": {"gpuNodePool": {"gpuLimit": 33}}}
    shared = {**committed, "pingvas:environments": ENVIRONMENTS, **pool}
    (folder / "Pulumi.shared.yaml").write_text(yaml.safe_dump({"config": shared}))
    (folder / "Pulumi.staging.yaml").write_text("config:\n  pingvas:profile: prod\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tools.preview, "stack_file", lambda stack: folder / f"Pulumi.{stack}.yaml")
        yield {stack: preview_stack(stack) for stack in ("shared", "staging")}


@pytest.fixture(scope="module")
def staging(with_staging: dict[str, OfflineRun]) -> OfflineRun:
    return with_staging["staging"]


@pytest.fixture(scope="module")
def prod() -> OfflineRun:
    return run_stack("prod")


def _one(run: OfflineRun, type_token: str, key: str) -> Any:
    (resource,) = run.of_type(type_token)
    return resource.inputs[key]


def _release_values(run: OfflineRun) -> dict[str, Any]:
    values: dict[str, Any] = _one(run, "kubernetes:helm.sh/v3:Release", "values")
    return values


def test_a_declared_profile_sizes_the_stack(staging: OfflineRun, prod: OfflineRun) -> None:
    quota = "kubernetes:core/v1:ResourceQuota"

    # Registration order is not construction order: compare the quotas as a set.
    def specs(run: OfflineRun) -> list[str]:
        return sorted(json.dumps(q.inputs["spec"], sort_keys=True) for q in run.of_type(quota))

    assert specs(staging) == specs(prod)
    assert any('"requests.nvidia.com/gpu": "15"' in spec for spec in specs(staging))
    redis = "aws:elasticache/serverlessCache:ServerlessCache"
    for key in ("engine", "majorEngineVersion", "cacheUsageLimits", "snapshotRetentionLimit"):
        assert _one(staging, redis, key) == _one(prod, redis, key), key
    lifecycle = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    assert _one(staging, lifecycle, "rules") == _one(prod, lifecycle, "rules")


def test_a_declared_profile_gives_its_chart_values(staging: OfflineRun, prod: OfflineRun) -> None:
    values, expected = _release_values(staging), _release_values(prod)
    assert values["priorityClassName"] == expected["priorityClassName"] == "prod-high"
    assert values["api"]["replicas"] == expected["api"]["replicas"]
    assert values["api"]["autoscaling"] == expected["api"]["autoscaling"]
    assert values["worker"] == expected["worker"]
    assert values["podDisruptionBudget"] == expected["podDisruptionBudget"]
    # The app is told both: its name for labels and logs, its profile for prod's checks.
    assert (values["environment"], values["profile"]) == ("staging", "prod")
    assert expected["profile"] == "prod"


def test_a_prod_profile_is_protected(with_staging: dict[str, OfflineRun]) -> None:
    (bucket,) = with_staging["staging"].of_type("aws:s3/bucket:Bucket")
    assert bucket.protect
    # Its ALB class is the platform's (stacks/edge.py), protected by the declared profile.
    params = (
        with_staging["shared"]
        .one(
            "kubernetes:elbv2.k8s.aws/v1beta1:IngressClassParams",
            "pingvas-shared-staging-alb-params",
        )
        .inputs["spec"]
    )
    attributes = {a["key"]: a["value"] for a in params["loadBalancerAttributes"]}
    assert attributes["deletion_protection.enabled"] == "true"


def test_only_the_apex_owner_answers_on_the_apex(staging: OfflineRun) -> None:
    # Two prod-profile stacks must not both claim api.<domain>.
    assert _release_values(staging)["ingress"]["host"] == "api.staging.pingvas.example.com"


def test_a_long_lived_environment_declares_its_profile() -> None:
    with pytest.raises(ConfigError, match="pingvas:profile: environment 'staging' has no"):
        load_stack_config("staging", {"pingvas:role": "environment"})
    declared = load_stack_config("staging", {"pingvas:profile": "prod"})
    assert declared.profile is Profile.PROD
    assert declared.kind.protected
    assert not declared.kind.apex_hosts
    assert load_stack_config("pr-7", {}).profile is Profile.EPHEMERAL
    assert load_stack_config("dev", {}).profile is Profile.DEV
