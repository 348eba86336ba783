"""The app chart's workloads as rendered for dev, prod and pr-7 (issue 8): the API
services (SPEC §3), what every pod must meet, and the GPU workers."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from app.core.queue import DEFAULT_GROUP, DEFAULT_PREFIX, TIERS
from app.worker.config import WorkerSettings
from components.environment.tenancy import (
    API_SERVICE_ACCOUNT,
    MIGRATIONS_SERVICE_ACCOUNT,
    WORKER_SERVICE_ACCOUNT,
)
from tests.support.chart import (
    SERVICES,
    STACKS,
    Render,
    env_of,
    outputs,
    pod_specs,
    release_values,
    render,
)
from tests.support.crds import crd_errors
from tests.support.stacks import run_stack

REPLICAS = {"dev": 1, "prod": 3, "pr-7": 1}  # docs/cost.md; pr-<N> is one of each
GPU_WORKERS = {"dev": (0, 3), "prod": (0, 15), "pr-7": (0, 1)}


# --- API services (SPEC §3) ------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_one_deployment_and_service_per_api_service_on_its_port(
    renders: dict[str, Render], stack: str
) -> None:
    render = renders[stack]
    api = [d for d in render.of_kind("Deployment") if d["metadata"]["name"] != "gpu-worker"]
    assert sorted(d["metadata"]["name"] for d in api) == sorted(SERVICES)
    for name, (port, _) in SERVICES.items():
        deployment = render.one("Deployment", name)
        service = render.one("Service", name)
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        module = name.removesuffix("-service")
        assert container["command"][:3] == [
            "uvicorn",
            f"app.services.{module}.main:app",
            "--host=0.0.0.0",
        ]
        assert f"--port={port}" in container["command"]
        assert service["spec"]["ports"] == [
            {"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}
        ]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items()
        assert deployment["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]


@pytest.mark.parametrize("stack", STACKS)
def test_replicas_and_autoscaling_follow_the_environment(
    renders: dict[str, Render], stack: str
) -> None:
    render = renders[stack]
    settings = outputs(stack)["settings"]["services"]
    assert settings["replicas"] == REPLICAS[stack]
    hpas = {h["metadata"]["name"]: h["spec"] for h in render.of_kind("HorizontalPodAutoscaler")}
    for name in SERVICES:
        deployment = render.one("Deployment", name)["spec"]
        if stack == "prod":  # 3-15 replicas each, HPA
            assert "replicas" not in deployment  # the HPA owns the count
            assert hpas[name]["minReplicas"] == REPLICAS[stack]
            assert hpas[name]["maxReplicas"] >= REPLICAS[stack]
            assert hpas[name]["scaleTargetRef"] == {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": name,
            }
        else:
            assert deployment["replicas"] == REPLICAS[stack]
    assert (stack == "prod") == bool(hpas)


@pytest.mark.parametrize("stack", STACKS)
def test_api_pods_are_probed_spread_and_budgeted(renders: dict[str, Render], stack: str) -> None:
    render = renders[stack]
    budgets = {p["metadata"]["name"]: p["spec"] for p in render.of_kind("PodDisruptionBudget")}
    for name in SERVICES:
        pod = render.one("Deployment", name)["spec"]["template"]
        (container,) = pod["spec"]["containers"]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["resources"]["requests"].keys() == {"cpu", "memory"}
        assert container["resources"]["limits"].keys() == {"cpu", "memory"}
        zones = [
            c
            for c in pod["spec"]["topologySpreadConstraints"]
            if c["topologyKey"] == "topology.kubernetes.io/zone"
        ]
        assert zones
        assert zones[0]["labelSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
        budget = budgets[name]
        assert budget["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
        assert "maxUnavailable" in budget


@pytest.mark.parametrize("stack", STACKS)
def test_one_ingress_per_path_in_the_environments_alb_group(
    renders: dict[str, Render], stack: str
) -> None:
    edge = outputs(stack)["edge"]
    ingresses = renders[stack].of_kind("Ingress")
    routes = {}
    for ingress in ingresses:
        annotations = ingress["metadata"]["annotations"]
        assert ingress["spec"]["ingressClassName"] == edge["ingressClass"]
        assert annotations["alb.ingress.kubernetes.io/group.name"] == edge["ingressGroup"]
        assert annotations["alb.ingress.kubernetes.io/target-type"] == "ip"
        (rule,) = ingress["spec"]["rules"]
        assert rule["host"] == edge["apiHostname"]
        (path,) = rule["http"]["paths"]
        assert path["pathType"] == "Prefix"
        routes[path["path"]] = path["backend"]["service"]
    expected = {
        path: {"name": name, "port": {"name": "http"}}
        for name, (_, paths) in SERVICES.items()
        for path in paths
    }
    assert routes == expected
    assert len(ingresses) == 6
    orders = [
        i["metadata"]["annotations"]["alb.ingress.kubernetes.io/group.order"] for i in ingresses
    ]
    assert len(set(orders)) == len(orders)


# --- every pod -------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_pod_meets_restricted_pod_security(renders: dict[str, Render], stack: str) -> None:
    priority = outputs(stack)["settings"]["priorityClass"]["name"]
    specs = pod_specs(renders[stack])
    assert len(specs) == len(SERVICES) + 2  # the services, the GPU worker, the migrations
    for where, spec in specs.items():
        assert spec["priorityClassName"] == priority, where
        assert spec["automountServiceAccountToken"] is False, where
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        volumes = {v["name"]: v for v in spec["volumes"]}
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"] == {"drop": ["ALL"]}, where
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
            (tmp,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert "emptyDir" in volumes[tmp["name"]], where
            assert container["image"].rsplit(":", 1)[1] != "latest", where


@pytest.mark.parametrize("stack", STACKS)
def test_service_accounts_are_the_tenancys(renders: dict[str, Render], stack: str) -> None:
    specs = pod_specs(renders[stack])
    for where, spec in specs.items():
        if where.startswith("Job/"):
            expected = MIGRATIONS_SERVICE_ACCOUNT  # the only pods with master credentials
        elif where == "Deployment/gpu-worker":
            expected = WORKER_SERVICE_ACCOUNT
        else:
            expected = API_SERVICE_ACCOUNT
        assert spec["serviceAccountName"] == expected, where


@pytest.mark.parametrize("stack", STACKS)
def test_every_object_lives_in_the_environments_namespace(
    renders: dict[str, Render], stack: str
) -> None:
    for manifest in renders[stack].manifests:
        if manifest["kind"] != "PersistentVolume":  # cluster-scoped
            assert manifest["metadata"]["namespace"] == stack, manifest["metadata"]["name"]


@pytest.mark.parametrize("stack", STACKS)
def test_requests_at_full_scale_fit_the_namespace_quota(
    renders: dict[str, Render], stack: str
) -> None:
    """Every service at its maximum and every GPU worker busy still fits SPEC's quota."""
    render = renders[stack]
    quota = outputs(stack)["settings"]["quota"]
    hpas = {h["metadata"]["name"]: h["spec"] for h in render.of_kind("HorizontalPodAutoscaler")}
    scaled = {
        s["spec"]["scaleTargetRef"]["name"]: s["spec"] for s in render.of_kind("ScaledObject")
    }
    totals = {"cpu": 0.0, "memory": 0.0, "gpu": 0, "pods": 0}
    for deployment in render.of_kind("Deployment"):
        name = deployment["metadata"]["name"]
        if name in scaled:
            count = scaled[name]["maxReplicaCount"]
        elif name in hpas:
            count = hpas[name]["maxReplicas"]
        else:
            count = deployment["spec"]["replicas"]
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            requests = container["resources"]["requests"]
            totals["cpu"] += count * cpu(requests["cpu"])
            totals["memory"] += count * mebibytes(requests["memory"])
            totals["gpu"] += count * int(requests.get("nvidia.com/gpu", 0))
        totals["pods"] += count
    totals["pods"] += 1  # the migration Job during an upgrade
    assert totals["cpu"] <= quota["cpu"]
    assert totals["memory"] <= mebibytes(quota["memory"])
    assert totals["gpu"] <= quota["gpu"]
    assert totals["pods"] <= quota["pods"]


def cpu(quantity: str | int | float) -> float:
    text = str(quantity)
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


def mebibytes(quantity: str) -> float:
    units = {"Mi": 1, "Gi": 1024, "Ti": 1024 * 1024}
    return float(quantity[:-2]) * units[quantity[-2:]]


# --- GPU workers -----------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_gpu_worker_lands_on_gpu_nodes_with_one_gpu(renders: dict[str, Render], stack: str) -> None:
    render = renders[stack]
    pod = render.one("Deployment", "gpu-worker")["spec"]["template"]["spec"]
    # A preview's also select the preview pools (tests/infra/test_preview_nodes.py).
    preview = {"pingvas.io/preview": "true"} if stack.startswith("pr-") else {}
    assert pod["nodeSelector"] == {"workload-type": "gpu", **preview}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod[
        "tolerations"
    ]
    (container,) = pod["containers"]
    assert container["command"] == ["python", "-m", "app.worker"]
    assert container["resources"]["requests"]["nvidia.com/gpu"] == 1
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    # A job of minutes finishes (or is handed back) inside the grace period.
    grace = pod["terminationGracePeriodSeconds"]
    assert grace >= 300
    assert 0 < float(env_of(container)["WORKER_GRACE_SECONDS"]) < grace


def _worker_container(render: Render) -> tuple[dict[str, Any], dict[str, Any]]:
    pod = render.one("Deployment", "gpu-worker")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return pod, container


@pytest.mark.parametrize("stack", STACKS)
def test_batching_and_compile_settings_reach_the_worker_settings_from_the_chart(
    renders: dict[str, Render], stack: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """chart values -> pod env -> WorkerSettings, one way."""
    pod, container = _worker_container(renders[stack])
    env = env_of(container)
    for name, value in env.items():
        if isinstance(value, str):
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", "postgresql://worker@db/pingvas")  # a Secret's, here
    settings = WorkerSettings()
    worker = renders[stack].values.get("worker", {})
    assert settings.worker_batch_size == worker.get("batchSize", 4) >= 2
    assert settings.worker_compile is False  # no persisted cache claim by default
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "compile-cache"]
    assert settings.worker_compile_cache_dir == Path(mount["mountPath"])
    (volume,) = [v for v in pod["volumes"] if v["name"] == "compile-cache"]
    assert "emptyDir" in volume


def test_a_compile_cache_claim_is_mounted_and_compile_turned_on() -> None:
    values = copy.deepcopy(release_values("dev"))
    values.setdefault("worker", {})["compile"] = {
        "enabled": True,
        "sizes": "512x512",
        "mode": "max-autotune",
        "cacheClaimName": "compile-cache",
    }
    pod, container = _worker_container(render("dev", values))
    env = env_of(container)
    assert (env["WORKER_COMPILE"], env["WORKER_COMPILE_SIZES"], env["WORKER_COMPILE_MODE"]) == (
        "true",
        "512x512",
        "max-autotune",
    )
    (volume,) = [v for v in pod["volumes"] if v["name"] == "compile-cache"]
    assert volume == {
        "name": "compile-cache",
        "persistentVolumeClaim": {"claimName": "compile-cache"},
    }


@pytest.mark.parametrize("stack", STACKS)
def test_models_are_the_platforms_store_mounted_read_only(
    renders: dict[str, Render], stack: str
) -> None:
    render = renders[stack]
    shared = run_stack("shared").outputs
    (volume,) = render.of_kind("PersistentVolume")
    (claim,) = render.of_kind("PersistentVolumeClaim")
    assert volume["spec"]["storageClassName"] == claim["spec"]["storageClassName"] == "efs-models"
    assert volume["spec"]["csi"]["volumeHandle"] == (
        f"{shared['modelStoreFileSystemId']}::{shared['modelStoreAccessPointId']}"
    )
    assert volume["spec"]["accessModes"] == claim["spec"]["accessModes"] == ["ReadOnlyMany"]
    assert claim["spec"]["volumeName"] == volume["metadata"]["name"]
    assert volume["metadata"]["name"].startswith(f"{stack}-")  # unique across environments
    for where, spec in pod_specs(render).items():
        if where.startswith("Job/"):
            continue
        (models,) = [v for v in spec["volumes"] if v["name"] == "models"]
        assert models["persistentVolumeClaim"] == {
            "claimName": claim["metadata"]["name"],
            "readOnly": True,
        }
        (container,) = spec["containers"]
        (mount,) = [m for m in container["volumeMounts"] if m["name"] == "models"]
        assert mount["readOnly"] is True
        assert mount["mountPath"] == env_of(container)["MODELS_DIR"]


@pytest.mark.parametrize("stack", STACKS)
def test_keda_scales_workers_from_zero_on_the_tier_streams(
    renders: dict[str, Render], stack: str
) -> None:
    render = renders[stack]
    settings = outputs(stack)["settings"]["gpuWorkers"]
    assert (settings["min"], settings["max"]) == GPU_WORKERS[stack]
    (scaler,) = render.of_kind("ScaledObject")
    spec = scaler["spec"]
    assert spec["scaleTargetRef"]["name"] == "gpu-worker"
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == GPU_WORKERS[stack]
    triggers = spec["triggers"]
    out = outputs(stack)
    # dev and prod run ElastiCache Serverless (decision 0117): cluster mode, KEDA's
    # cluster scaler, which takes `addresses`; a preview's in-cluster Redis is one server.
    cluster = out["redisMode"] == "serverless"
    assert cluster is (stack != "pr-7")
    assert {t["type"] for t in triggers} == {
        "redis-cluster-streams" if cluster else "redis-streams"
    }
    streams = {f"{DEFAULT_PREFIX}:{tier}" for tier in TIERS}
    lag = [t["metadata"] for t in triggers if "lagCount" in t["metadata"]]
    pending = [t["metadata"] for t in triggers if "pendingEntriesCount" in t["metadata"]]
    assert {m["stream"] for m in lag} == {m["stream"] for m in pending} == streams
    assert all(m["activationLagCount"] == "0" for m in lag)  # one waiting job wakes a worker
    assert all(m["consumerGroup"] == DEFAULT_GROUP for m in lag + pending)
    host = f"{out['redisHost']}:{out['redisPort']}"
    assert all(m["addresses" if cluster else "address"] == host for m in lag + pending)
    assert all(m["enableTLS"] == str(out["redisTls"]).lower() for m in lag)
    authenticated = [t for t in triggers if "authenticationRef" in t]
    auths = render.of_kind("TriggerAuthentication")
    # Every Redis wants a password (the serverless caches' `default` user's too).
    (auth,) = auths
    assert len(authenticated) == len(triggers)
    assert auth["spec"]["secretTargetRef"][0]["parameter"] == "password"


@pytest.mark.parametrize("cluster", [False, True])
def test_a_cluster_redis_gets_keda_cluster_scaler_and_cluster_clients(cluster: bool) -> None:
    """ElastiCache Serverless speaks only the cluster protocol: KEDA's
    redis-cluster-streams scaler (addresses, no database index) with the same TLS and
    TriggerAuthentication, and REDIS_CLUSTER for the app; the control keeps redis-streams."""
    values = copy.deepcopy(release_values("prod"))
    values["redis"]["cluster"] = cluster
    result = render("prod", values)
    (scaler,) = result.of_kind("ScaledObject")
    triggers = scaler["spec"]["triggers"]
    kind = "redis-cluster-streams" if cluster else "redis-streams"
    assert {t["type"] for t in triggers} == {kind}
    address = values["redis"]["address"]
    for trigger in triggers:
        metadata = trigger["metadata"]
        assert metadata.get("addresses" if cluster else "address") == address
        assert ("databaseIndex" in metadata) is not cluster
        assert metadata["enableTLS"] == "true"
        assert trigger["authenticationRef"] == {"name": "redis"}
        assert crd_errors(scaler) == []
    assert {t["metadata"]["stream"] for t in triggers} == {
        f"{DEFAULT_PREFIX}:{tier}" for tier in TIERS
    }
    for where, spec in pod_specs(result).items():
        if where.startswith("Deployment/"):
            assert env_of(spec["containers"][0])["REDIS_CLUSTER"] == str(cluster).lower()


def test_a_queue_prefix_without_a_hash_tag_is_refused() -> None:
    values = copy.deepcopy(release_values("prod"))
    values["worker"]["queue"] = {"prefix": "pingvas:jobs"}  # merged over the chart default
    with pytest.raises(Exception, match=r"queue/prefix.* does not match pattern"):
        render("prod", values)
