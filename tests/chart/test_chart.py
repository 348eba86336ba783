"""The app chart (issue 8) rendered by the real Helm engine for dev, prod and pr-7 with
the values each stack's release passes: strict lint, schema validity, checkov, and the
SPEC's figures in the rendered objects."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import pytest
import yaml

from app.chart_values import chart_defaults
from app.core.queue import DEFAULT_GROUP, DEFAULT_PREFIX, TIERS
from components.environment.app_release import CHART_DIR
from components.environment.tenancy import (
    API_SERVICE_ACCOUNT,
    MIGRATIONS_SERVICE_ACCOUNT,
    WORKER_SERVICE_ACCOUNT,
)
from infra.merge import deep_merge
from tests.chart.conftest import KUBE_VERSION, STACKS, Render, checkov
from tests.crds import crd_errors
from tests.infra.conftest import run_stack

# SPEC §3: the five services and their ports; §1/docs/app.md: the paths each serves.
SERVICES = {
    "user-service": (8001, ["/api/users", "/api/auth"]),
    "payment-service": (8002, ["/api/payments"]),
    "generation-service": (8003, ["/api/generations"]),
    "gallery-service": (8004, ["/api/images"]),
    "model-service": (8005, ["/api/models"]),
}
REPLICAS = {"dev": 1, "prod": 3, "pr-7": 1}  # docs/cost.md; pr-<N> is one of each
GPU_WORKERS = {"dev": (0, 3), "prod": (0, 15), "pr-7": (0, 1)}
CUSTOM_GROUPS = ("keda.sh/", "monitoring.coreos.com/", "external-secrets.io/")
# checkov findings that do not apply, each with its reason (also in docs/chart.md).
CHECKOV_SKIPS = {
    # ECR repositories have immutable tags (components/data/registry.py): a tag names one
    # image for good, and CI sets it per build (pingvas:imageTags).
    "CKV_K8S_43": "Image should use digest",
    # The app reads its settings from environment variables only (DESIGN §3); the values
    # come from Secrets Manager through External Secrets, never from the chart.
    "CKV_K8S_35": "Prefer using secrets as files over secrets as environment variables",
    # The namespace's NetworkPolicies (default deny plus allow-lists for every pod) belong
    # to the tenancy component (components/environment/tenancy.py), outside the chart.
    "CKV2_K8S_6": "Minimize the admission of pods which lack an associated NetworkPolicy",
}


def outputs(stack: str) -> dict[str, Any]:
    return run_stack(stack).outputs


def pod_specs(render: Render) -> dict[str, dict[str, Any]]:
    """Every pod template of the release: Deployments and the migration Job."""
    return {
        f"{m['kind']}/{m['metadata']['name']}": m["spec"]["template"]["spec"]
        for m in render.manifests
        if m["kind"] in ("Deployment", "Job")
    }


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


# --- the chart is clean ----------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_chart_lints_clean_in_strict_mode(renders: dict[str, Render], stack: str) -> None:
    result = helm_python.lint(
        str(CHART_DIR),
        deep_merge(chart_defaults(), renders[stack].values),
        strict=True,
        namespace=stack,
        kube_version=f"v{KUBE_VERSION}",
    )
    assert result["errors"] == []
    # Only informational notes (a chart icon) remain; strict mode fails on warnings.
    assert [m for m in result["messages"] if m["severity"] > 1] == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_manifest_is_schema_valid(renders: dict[str, Render], stack: str) -> None:
    problems = []
    for manifest in renders[stack].manifests:
        where = f"{manifest['kind']}/{manifest['metadata']['name']}"
        if manifest["apiVersion"].startswith(CUSTOM_GROUPS):
            problems += [f"{where}: {error}" for error in crd_errors(manifest)]
        else:
            try:
                kubernetes_validate.validate(manifest, KUBE_VERSION, strict=True)
            except kubernetes_validate.ValidationError as error:
                problems.append(f"{where}: {error.message}")
    assert problems == []


def test_checkov_finds_nothing_beyond_the_documented_skips(
    renders: dict[str, Render], tmp_path: Path
) -> None:
    for stack, render in renders.items():
        (tmp_path / f"{stack}.yaml").write_text(yaml.safe_dump_all(render.manifests))
    scan = subprocess.run(
        [
            str(checkov()),
            "--directory",
            str(tmp_path),
            "--framework",
            "kubernetes",
            "--skip-download",
            "--skip-check",
            ",".join(CHECKOV_SKIPS),
            "--output",
            "json",
            "--compact",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(scan.stdout)
    failed = [
        f"{check['check_id']} {check['resource']}: {check['check_name']}"
        for check in report["results"]["failed_checks"]
    ]
    assert failed == []
    assert report["summary"]["parsing_errors"] == 0
    # checkov also counts each workload's pod template as a resource of its own.
    assert report["summary"]["resource_count"] >= sum(len(r.manifests) for r in renders.values())
    docs = (Path(__file__).resolve().parents[2] / "docs" / "chart.md").read_text()
    assert all(check in docs for check in CHECKOV_SKIPS)


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
    assert pod["nodeSelector"] == {"workload-type": "gpu"}
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
    assert {t["type"] for t in triggers} == {"redis-streams"}
    streams = {f"{DEFAULT_PREFIX}:{tier}" for tier in TIERS}
    lag = [t["metadata"] for t in triggers if "lagCount" in t["metadata"]]
    pending = [t["metadata"] for t in triggers if "pendingEntriesCount" in t["metadata"]]
    assert {m["stream"] for m in lag} == {m["stream"] for m in pending} == streams
    assert all(m["activationLagCount"] == "0" for m in lag)  # one waiting job wakes a worker
    assert all(m["consumerGroup"] == DEFAULT_GROUP for m in lag + pending)
    out = outputs(stack)
    host = f"{out['redisHost']}:{out['redisPort']}"
    assert all(m["address"] == host for m in lag + pending)
    assert all(m["enableTLS"] == str(out["redisTls"]).lower() for m in lag)
    authenticated = [t for t in triggers if "authenticationRef" in t]
    auths = render.of_kind("TriggerAuthentication")
    if stack == "dev":  # standalone ElastiCache: TLS, no AUTH
        assert authenticated == auths == []
    else:
        (auth,) = auths
        assert len(authenticated) == len(triggers)
        assert auth["spec"]["secretTargetRef"][0]["parameter"] == "password"


# --- configuration, secrets, migrations, metrics ---------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_configuration_comes_from_the_environments_secrets(
    renders: dict[str, Render], stack: str
) -> None:
    render = renders[stack]
    out = outputs(stack)
    external_app = render.one("ExternalSecret", "pingvas-app")
    synced = {d["secretKey"]: d["remoteRef"]["key"] for d in external_app["spec"]["data"]}
    assert synced == out["appSecretArns"]
    redis_secret = out.get("redisKubernetesSecret", "pingvas-redis")
    for where, spec in pod_specs(render).items():
        if where.startswith("Job/"):
            continue
        (container,) = spec["containers"]
        env = env_of(container)
        if where == "Deployment/gpu-worker":  # no signing, payment or OAuth secret
            assert "envFrom" not in container
        else:
            assert container["envFrom"] == [{"secretRef": {"name": "pingvas-app"}}]
        assert "SECRETS_MANAGER_SECRET_ID" not in env  # the pods read no Secrets Manager
        for key in ("DATABASE_URL", "DATABASE_READ_URL", "DB_SCHEMA"):
            assert env[key] == {"secretKeyRef": {"name": "pingvas-database", "key": key}}
        assert env["ENVIRONMENT"] == stack
        assert env["S3_BUCKET"] == out["imagesBucketName"]
        if "imagesHostname" in out["edge"]:  # a CDN; pr-<N> has none and presigns URLs
            assert env["IMAGE_BASE_URL"] == f"https://{out['edge']['imagesHostname']}"
            # Its URLs are signed with this key (the private half: `pingvas-app`).
            assert env["CLOUDFRONT_KEY_PAIR_ID"] == out["cdnKeyPairId"]
            assert env["CLOUDFRONT_DISTRIBUTION_ID"] == out["cdnDistributionId"]
        else:
            assert "IMAGE_BASE_URL" not in env
            assert "CLOUDFRONT_KEY_PAIR_ID" not in env
        assert env["REDIS_URL"] == {"secretKeyRef": {"name": redis_secret, "key": "REDIS_URL"}}
    externals = {e["metadata"]["name"]: e for e in render.of_kind("ExternalSecret")}
    (source,) = externals["pingvas-database"]["spec"]["dataFrom"]
    assert source == {"extract": {"key": out["databaseSecretArn"]}}
    if "redisSecretArn" in out:  # ElastiCache: its secret, copied key for key
        (source,) = externals["pingvas-redis"]["spec"]["dataFrom"]
        assert source == {"extract": {"key": out["redisSecretArn"]}}
        assert "template" not in externals["pingvas-redis"]["spec"]["target"]
    else:  # in-cluster: the data layer's own Secret
        assert "pingvas-redis" not in externals
    # Nothing in the values is a secret value: secrets are referenced by ARN only.
    assert "[secret]" not in json.dumps(render.values)
    for variable, arn in render.values["secrets"]["appSecretArns"].items():
        assert arn.startswith("arn:aws:secretsmanager:"), variable


@pytest.mark.parametrize("stack", STACKS)
def test_migrations_run_as_a_pre_install_and_pre_upgrade_hook(
    renders: dict[str, Render], stack: str
) -> None:
    render = renders[stack]
    shared = run_stack("shared").outputs
    job = render.one("Job", "pingvas-migrations")
    script = render.one("ConfigMap", "pingvas-migrations")
    for hooked in (job, script):
        assert hooked["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    weight = "helm.sh/hook-weight"
    assert int(script["metadata"]["annotations"][weight]) < int(
        job["metadata"]["annotations"][weight]
    )
    assert script["data"]["migrate.py"] == (CHART_DIR / "files" / "migrate.py").read_text()
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "/migrations/migrate.py"]
    env = env_of(container)
    # The environment's schema owner (a pr-<N> stack: its own PostgreSQL's superuser),
    # never Aurora's master secret (issue 12).
    assert env["SCHEMA_OWNER_SECRET_ARN"] == outputs(stack)["databaseOwnerSecretArn"]
    if stack != "pr-7":
        assert env["SCHEMA_OWNER_SECRET_ARN"] == shared["schemaOwnerSecretArns"][stack]
    assert "MASTER_SECRET_ARN" not in env
    assert env["DATABASE_SECRET_ARN"] == outputs(stack)["databaseSecretArn"]
    assert "alembic" in script["data"]["migrate.py"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


@pytest.mark.parametrize("stack", STACKS)
def test_service_monitors_scrape_the_api_and_the_workers(
    renders: dict[str, Render], stack: str
) -> None:
    # On by default: the platform's monitoring stack brings the operator's CRDs.
    with_monitors = renders[stack]
    for monitor in with_monitors.of_kind("ServiceMonitor"):
        assert crd_errors(monitor) == [], monitor["metadata"]["name"]
    services = with_monitors.of_kind("Service")
    monitors = with_monitors.of_kind("ServiceMonitor")
    assert {m["metadata"]["name"] for m in monitors} == {"pingvas-api", "pingvas-worker"}
    for monitor in monitors:
        selector = monitor["spec"]["selector"]["matchLabels"]
        matched = [s for s in services if selector.items() <= s["metadata"]["labels"].items()]
        assert matched, monitor["metadata"]["name"]
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["path"] == "/metrics"
        assert endpoint["interval"] == "15s"  # SPEC §7
        for service in matched:
            assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    api = next(m for m in monitors if m["metadata"]["name"] == "pingvas-api")
    selector = api["spec"]["selector"]["matchLabels"]
    assert len([s for s in services if selector.items() <= s["metadata"]["labels"].items()]) == 5


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (("image", "api", "tag"), "image.api.tag is required"),
        (("ingress", "host"), "ingress.host is required"),
        (("secrets", "databaseSecretArn"), "secrets.databaseSecretArn is required"),
        (("models", "accessPointId"), "models.accessPointId is required"),
        (("priorityClassName",), "priorityClassName is required"),
    ],
)
def test_a_release_without_an_output_fails_to_render(
    renders: dict[str, Render], path: tuple[str, ...], message: str
) -> None:
    """The chart never falls back to a made-up value for what the stack must supply."""
    values = deep_merge(chart_defaults(), copy.deepcopy(renders["dev"].values))
    holder = values
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = ""
    with pytest.raises(helm_python.HelmError, match=message):
        helm_python.Chart.load(str(CHART_DIR)).render(
            values, name="pingvas", namespace="dev", is_install=True
        )
