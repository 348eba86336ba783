"""Three figures followed from where they are written to the pod that uses them, the way
a reviewer would: the stack file (or the resource that makes them), the typed config,
the release's values, and the chart as Helm renders it. Each is written in one place and
copied nowhere along the way."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.environment.app_release import CHART_DIR, RELEASE_NAME
from infra.config import ENVIRONMENT_PROFILES, Profile
from pulumi_offline import OfflineRun
from tests.support.chart import Render, render
from tests.support.preview import RELEASE
from tests.support.stacks import run_stack
from tools.preview import REPO_ROOT, load_stack, preview_stack

# A figure no profile, values file or chart default holds, so finding it proves its path.
WORKERS_MAX = 2
STACK_FILE = f"""config:
  aws:region: us-east-1
  pingvas:gpuWorkers:
    max: {WORKERS_MAX}
"""


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, OfflineRun, Render]:
    config_file = tmp_path_factory.mktemp("walk") / "Pulumi.dev.yaml"
    config_file.write_text(STACK_FILE)
    run = preview_stack("dev", config_file)
    (release,) = [r for r in run.of_type(RELEASE) if r.inputs.get("name") == RELEASE_NAME]
    return config_file, run, render("dev", release.inputs["values"])


def occurrences(document: Any, needle: Any, path: str = "") -> Iterator[str]:
    """The paths in `document` whose value is, or (for strings) contains, `needle`."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield from occurrences(value, needle, f"{path}.{key}")
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from occurrences(value, needle, f"{path}[{index}]")
    elif document == needle or (
        isinstance(document, str) and isinstance(needle, str) and needle in document
    ):
        yield path


def human_written_sources() -> dict[str, str]:
    """Every file a person edits to size or wire an environment (Pulumi.yaml is generated)."""
    files = [*REPO_ROOT.glob("Pulumi.*.yaml"), *CHART_DIR.glob("values*.yaml")]
    return {path.name: path.read_text() for path in files}


def test_gpu_workers_max_goes_from_the_stack_file_to_the_scaled_object(
    walk: tuple[Path, OfflineRun, Render],
) -> None:
    config_file, _, rendered = walk
    # Written once: in the stack file; the dev profile holds a different default.
    assert list(occurrences(yaml.safe_load(config_file.read_text()), WORKERS_MAX)) == [
        ".config.pingvas:gpuWorkers.max"
    ]
    assert ENVIRONMENT_PROFILES[Profile.DEV]["gpuWorkers"]["max"] != WORKERS_MAX
    # No committed stack file or per-environment values file sets it; the chart's own
    # values.yaml default (for a bare `helm install`) is overridden below.
    for name, text in human_written_sources().items():
        if name != "values.yaml":
            assert "gpuWorkers" not in text, name
            assert "maxReplicas" not in (yaml.safe_load(text) or {}).get("worker", {}), name
    # Typed config → the release's values, at one path.
    config, _, _ = load_stack("dev", config_file)
    assert config.environment is not None
    assert config.environment.gpu_workers.max == WORKERS_MAX
    assert [p for p in occurrences(rendered.values, WORKERS_MAX) if "eplica" in p] == [
        ".worker.maxReplicas"
    ]
    # Values → the one object that scales the worker pods.
    (scaler,) = rendered.of_kind("ScaledObject")
    assert scaler["spec"]["scaleTargetRef"]["name"] == "gpu-worker"
    assert scaler["spec"]["maxReplicaCount"] == WORKERS_MAX
    assert [
        f"{m['kind']}{path}"
        for m in rendered.manifests
        for path in occurrences(m, WORKERS_MAX)
        if "eplica" in path
    ] == ["ScaledObject.spec.maxReplicaCount"]


def test_the_redis_endpoint_goes_from_elasticache_to_the_worker_scaler_and_pods(
    walk: tuple[Path, OfflineRun, Render],
) -> None:
    _, run, rendered = walk
    (cache,) = run.of_type("aws:elasticache/serverlessCache:ServerlessCache")
    # The endpoint is made by ElastiCache: no person writes it anywhere.
    host = run.outputs["redisHost"]  # typed: no URL to take apart
    assert host.startswith(f"{cache.inputs['name']}-")
    for name, text in human_written_sources().items():
        assert host not in text, name
        assert cache.inputs["name"] not in text, name
    # In the release's values once: the KEDA scaler's address. The app's full URL (with
    # its AUTH token where there is one) stays in Secrets Manager.
    assert list(occurrences(rendered.values, host)) == [".redis.address"]
    assert rendered.values["redis"]["address"] == f"{host}:6379"
    assert rendered.values["redis"]["tls"] is True
    triggers = rendered.one("ScaledObject", "gpu-worker")["spec"]["triggers"]
    # Serverless speaks cluster mode: KEDA's cluster scaler takes `addresses`.
    assert rendered.values["redis"]["cluster"] is True
    assert {t["metadata"]["addresses"] for t in triggers} == {f"{host}:6379"}
    holders = {m["kind"] for m in rendered.manifests if list(occurrences(m, host))}
    assert holders == {"ScaledObject"}
    # The pods read REDIS_URL from the Secret that External Secrets fills from the
    # secret the Redis component wrote (the secret's id ends its ARN).
    secret_arn = rendered.values["secrets"]["redisSecretArn"]
    assert secret_arn == run.outputs["redisSecretArn"]
    versions = run.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert [v.name for v in versions if secret_arn.endswith(v.inputs["secretId"])] == [
        "pingvas-dev-redis"
    ]
    (source,) = rendered.one("ExternalSecret", "pingvas-redis")["spec"]["dataFrom"]
    assert source["extract"]["key"] == secret_arn
    for pod in pod_specs(rendered):
        for container in pod["containers"]:
            env = {item["name"]: item for item in container.get("env", [])}
            if "REDIS_URL" in env:
                assert env["REDIS_URL"]["valueFrom"]["secretKeyRef"]["name"] == "pingvas-redis"


def test_the_database_secret_goes_from_its_secret_to_every_app_container(
    walk: tuple[Path, OfflineRun, Render],
) -> None:
    _, run, rendered = walk
    arn = run.outputs["databaseSecretArn"]
    (version,) = [
        v
        for v in run.of_type("aws:secretsmanager/secretVersion:SecretVersion")
        if arn.endswith(v.inputs["secretId"])
    ]
    assert version.name == "pingvas-dev-database"
    assert version.inputs["secretString"] == "[secret]"  # the value never leaves the stack
    for name, text in human_written_sources().items():
        assert arn not in text, name
    assert list(occurrences(rendered.values, arn)) == [".secrets.databaseSecretArn"]
    # External Secrets copies it into `pingvas-database`, which every app container reads;
    # the migration hook alone reads it from Secrets Manager (app/chart/files/migrate.py).
    consumers = {
        f"{m['kind']}/{m['metadata']['name']}"
        for m in rendered.manifests
        if any(occurrences(m, arn))
    }
    assert consumers == {"ExternalSecret/pingvas-database", "Job/pingvas-migrations"}
    # The workers' role's secret takes the same road to the workers alone.
    worker_arn = run.outputs["databaseWorkerSecretArn"]
    assert list(occurrences(rendered.values, worker_arn)) == [".secrets.workerDatabaseSecretArn"]
    assert {
        f"{m['kind']}/{m['metadata']['name']}"
        for m in rendered.manifests
        if any(occurrences(m, worker_arn))
    } == {"ExternalSecret/pingvas-worker-database", "Job/pingvas-migrations"}
    for manifest in rendered.of_kind("Deployment"):
        (container,) = manifest["spec"]["template"]["spec"]["containers"]
        env = {item["name"]: item.get("valueFrom", {}) for item in container["env"]}
        worker = manifest["metadata"]["name"] == "gpu-worker"
        expected = "pingvas-worker-database" if worker else "pingvas-database"
        assert env["DATABASE_URL"]["secretKeyRef"]["name"] == expected
    assert arn not in json.dumps(rendered.of_kind("ConfigMap"))


def pod_specs(rendered: Render) -> list[dict[str, Any]]:
    return [
        m["spec"]["template"]["spec"]
        for m in rendered.manifests
        if m["kind"] in ("Deployment", "Job")
    ]


def test_the_in_cluster_redis_endpoint_goes_from_its_service_to_the_worker_scaler(
    renders: dict[str, Render],
) -> None:
    run, rendered = run_stack("pr-7"), renders["pr-7"]
    (service,) = [
        s for s in run.of_type("kubernetes:core/v1:Service") if s.name.endswith("-redis-service")
    ]
    metadata = service.inputs["metadata"]
    host = f"{metadata['name']}.{metadata['namespace']}.svc.cluster.local"
    port = service.inputs["spec"]["ports"][0]["port"]
    assert list(occurrences(rendered.values, host)) == [".redis.address"]
    assert rendered.values["redis"] == {
        "address": f"{host}:{port}",
        "tls": False,  # the in-cluster server (pr-<N>) speaks plain redis://
        "auth": True,
        "existingSecret": run.outputs["redisKubernetesSecret"],
        "cluster": False,  # one server, not the cluster protocol (decision 0117)
    }
    holders = {m["kind"] for m in rendered.manifests if list(occurrences(m, host))}
    assert holders == {"ScaledObject"}
    secret = run.outputs["redisKubernetesSecret"]
    for pod in pod_specs(rendered):
        for container in pod["containers"]:
            env = {item["name"]: item for item in container.get("env", [])}
            if "REDIS_URL" in env:
                assert env["REDIS_URL"]["valueFrom"]["secretKeyRef"]["name"] == secret
