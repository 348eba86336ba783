"""The app's Helm release (issue 8): one per environment, into its namespace, with values
taken from the stack's own outputs and the platform's (never hand-copied)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pulumi
import pytest

from app.chart_layers import profile_values
from components.endpoints import SecretReference
from components.environment.app_release import (
    CHART_DIR,
    CHART_PATH,
    chart_digest,
)
from components.environment.tenancy import (
    API_SERVICE_ACCOUNT,
    MIGRATIONS_SERVICE_ACCOUNT,
    WORKER_SERVICE_ACCOUNT,
)
from infra.config import ConfigError, Profile, load_stack_config
from infra.merge import deep_merge
from pulumi_offline import OfflineRun
from stacks.environment import VALUES_PROFILES
from tests.support.preview import app_release
from tests.support.stacks import run_stack

STACKS = ("dev", "prod", "pr-7")


@pytest.mark.parametrize("stack", STACKS)
def test_release_installs_the_local_chart_into_the_namespace(stack: str) -> None:
    run = run_stack(stack)
    release = app_release(run)
    assert release.name == f"pingvas-{stack}-app"
    assert release.inputs["chart"] == CHART_PATH
    assert (CHART_DIR / "Chart.yaml").is_file()
    assert release.inputs["namespace"] == run.outputs["namespace"] == stack
    assert release.inputs["values"]["chartDigest"] == chart_digest()
    # Deployed through the environment's cluster provider, like the tenancy.
    (namespace,) = run.of_type("kubernetes:core/v1:Namespace")
    assert run.provider_of(release).urn == run.provider_of(namespace).urn


@pytest.mark.parametrize("stack", STACKS)
def test_values_name_the_stacks_outputs(shared: OfflineRun, stack: str) -> None:
    out = run_stack(stack).outputs
    values = app_release(run_stack(stack)).inputs["values"]
    edge = out["edge"]
    assert values["environment"] == stack
    # The network's ALB group protects the environment's ALB (issue 12, guarantee 5);
    # previews join the platform's shared preview ALB.
    alb = (
        {}
        if stack == "pr-7"
        else {"securityGroupId": run_stack("shared").outputs["securityGroupIds"]["alb"]}
    )
    assert values["ingress"] == {
        "className": edge["ingressClass"],
        "groupName": edge["ingressGroup"],
        "host": edge["apiHostname"],
        **alb,
    }
    # pr-<N> has no CDN: an empty base URL makes the app sign S3 URLs.
    cdn = f"https://{edge['imagesHostname']}" if stack != "pr-7" else ""
    assert values["config"] == {
        "s3Bucket": out["imagesBucketName"],
        "imageBaseUrl": cdn,
        "cloudfrontKeyPairId": out.get("cdnKeyPairId", ""),
        "cloudfrontDistributionId": out.get("cdnDistributionId", ""),
    }
    assert values["secrets"]["databaseSecretArn"] == out["databaseSecretArn"]
    assert values["secrets"]["workerDatabaseSecretArn"] == out["databaseWorkerSecretArn"]
    assert values["secrets"]["appSecretArns"] == out["appSecretArns"]
    assert values["serviceAccounts"] == {
        "api": API_SERVICE_ACCOUNT,
        "worker": WORKER_SERVICE_ACCOUNT,
        "migrations": MIGRATIONS_SERVICE_ACCOUNT,
    }
    settings = out["settings"]
    assert values["priorityClassName"] == settings["priorityClass"]["name"]
    assert values["api"]["replicas"] == settings["services"]["replicas"]
    assert values["api"]["autoscaling"]["enabled"] == settings["services"]["autoscaling"]
    assert values["worker"]["minReplicas"] == settings["gpuWorkers"]["min"]
    assert values["worker"]["maxReplicas"] == settings["gpuWorkers"]["max"]


@pytest.mark.parametrize("stack", STACKS)
def test_values_name_the_platforms_outputs(shared: OfflineRun, stack: str) -> None:
    platform = shared.outputs
    values = app_release(run_stack(stack)).inputs["values"]
    for image in ("api", "worker"):
        assert values["image"][image] == {
            "repository": platform["repositoryUrls"][image],
            "tag": "0.1.0",
        }
    assert values["models"] == {
        "fileSystemId": platform["modelStoreFileSystemId"],
        "accessPointId": platform["modelStoreAccessPointId"],
    }
    if stack == "pr-7":  # its own PostgreSQL's superuser (tests/infra/test_ephemeral.py)
        owner = run_stack(stack).outputs["databaseOwnerSecretArn"]
        assert owner.endswith(
            run_stack(stack)
            .one("aws:secretsmanager/secret:Secret", "pingvas-pr-7-postgres-master")
            .id
        )
    else:  # the platform's schema owner, never Aurora's master secret
        owner = platform["schemaOwnerSecretArns"][stack]
    assert values["migrations"]["schemaOwnerSecretArn"] == owner
    assert values["migrations"]["enabled"] is True
    assert "rds!" not in str(values)
    assert values["api"]["forwardedAllowIps"] == ",".join(platform["publicSubnetCidrs"])


@pytest.mark.parametrize("stack", STACKS)
def test_redis_is_referenced_never_copied(stack: str) -> None:
    out = run_stack(stack).outputs
    values = app_release(run_stack(stack)).inputs["values"]
    redis = values["redis"]
    assert redis["address"] == f"{out['redisHost']}:{out['redisPort']}"
    assert out["redisPort"] == 6379
    assert redis["tls"] is out["redisTls"] is (stack != "pr-7")
    if stack == "pr-7":  # in-cluster: the data layer's Kubernetes Secret
        assert redis["existingSecret"] == out["redisKubernetesSecret"]
        assert "redisSecretArn" not in values["secrets"]
    else:  # ElastiCache: its Secrets Manager secret, synced by External Secrets
        assert redis["existingSecret"] == ""
        assert values["secrets"]["redisSecretArn"] == out["redisSecretArn"]
    assert redis["auth"] is True  # every Redis wants a password, dev's standalone node too
    assert "[secret]" not in str(values)


def test_values_keep_the_profile_sizing_underneath() -> None:
    values = app_release(run_stack("prod")).inputs["values"]
    profile = profile_values("prod")
    assert values["api"]["resources"] == profile["api"]["resources"]
    assert values["podDisruptionBudget"] == profile["podDisruptionBudget"]


def test_image_tags_come_from_config(stack_with: Callable[..., OfflineRun]) -> None:
    run = stack_with("dev", {"pingvas:imageTags": {"api": "git-1a2b3c4", "worker": "git-5d6e7f8"}})
    values = app_release(run).inputs["values"]
    assert values["image"]["api"]["tag"] == "git-1a2b3c4"
    assert values["image"]["worker"]["tag"] == "git-5d6e7f8"
    assert run.outputs["settings"]["imageTags"] == {"api": "git-1a2b3c4", "worker": "git-5d6e7f8"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"api": "latest"}', "pingvas:imageTags.api: 'latest' names no build"),
        ('{"worker": "a b"}', "pingvas:imageTags.worker: "),
        ('{"worker": ".hidden"}', "pingvas:imageTags.worker: "),
        ('{"api": "' + "x" * 129 + '"}', "pingvas:imageTags.api: "),
        ('{"gui": "1.0"}', "pingvas:imageTags.gui: unknown configuration key"),
    ],
)
def test_invalid_image_tags_name_the_key(value: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_stack_config("dev", {"pingvas:imageTags": value})
    assert message in str(raised.value)


def test_values_profiles_and_merge() -> None:
    assert all(VALUES_PROFILES[profile] == profile.value for profile in Profile)
    merged = deep_merge({"a": {"b": 1, "c": [1]}, "d": 1}, {"a": {"c": [2]}, "e": 2})
    assert merged == {"a": {"b": 1, "c": [2]}, "d": 1, "e": 2}


def test_secret_reference_names_exactly_one_place() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        SecretReference()
    # Outputs need an event loop of their own: an offline run closes its loop on return.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        with pytest.raises(ValueError, match="exactly one"):
            SecretReference(
                secrets_manager_arn=pulumi.Output.from_input("arn"),
                kubernetes_secret_name=pulumi.Output.from_input("redis"),
            )
    finally:
        asyncio.set_event_loop(None)
        loop.close()
