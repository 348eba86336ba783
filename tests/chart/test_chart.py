"""The app chart (issue 8) rendered by the real Helm engine for dev, prod and pr-7 with
the values each stack's release passes: strict lint, schema validity, checkov, and the
configuration, migrations and metrics in the rendered objects (the workloads are in
test_workloads.py)."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import helm_python
import kubernetes_validate
import pytest
import yaml

from app.chart_layers import ValuesLayers
from components.environment.app_release import CHART_DIR
from tests.support.chart import (
    KUBE_VERSION,
    STACKS,
    Render,
    checkov,
    env_of,
    outputs,
    pod_specs,
)
from tests.support.crds import crd_errors
from tests.support.stacks import run_stack

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


# --- the chart is clean ----------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_chart_lints_clean_in_strict_mode(renders: dict[str, Render], stack: str) -> None:
    result = helm_python.lint(
        str(CHART_DIR),
        ValuesLayers(renders[stack].values).effective(),
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
        # The workers connect as their own role (the one that may requeue); the API as its.
        database = (
            "pingvas-worker-database" if where == "Deployment/gpu-worker" else ("pingvas-database")
        )
        for key in ("DATABASE_URL", "DATABASE_READ_URL", "DB_SCHEMA"):
            assert env[key] == {"secretKeyRef": {"name": database, "key": key}}
        assert env["ENVIRONMENT"] == stack
        # What kind it is: the app's prod checks key on it, not on the name.
        assert env["PROFILE"] == {"dev": "dev", "prod": "prod", "pr-7": "ephemeral"}[stack]
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
    (source,) = externals["pingvas-worker-database"]["spec"]["dataFrom"]
    assert source == {"extract": {"key": out["databaseWorkerSecretArn"]}}
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
    assert env["WORKER_DATABASE_SECRET_ARN"] == outputs(stack)["databaseWorkerSecretArn"]
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
        (
            ("secrets", "workerDatabaseSecretArn"),
            "secrets.workerDatabaseSecretArn is required",
        ),
        (("models", "accessPointId"), "models.accessPointId is required"),
        (("priorityClassName",), "priorityClassName is required"),
    ],
)
def test_a_release_without_an_output_fails_to_render(
    renders: dict[str, Render], path: tuple[str, ...], message: str
) -> None:
    """The chart never falls back to a made-up value for what the stack must supply."""
    values = ValuesLayers(copy.deepcopy(renders["dev"].values)).effective()
    holder = values
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = ""
    with pytest.raises(helm_python.HelmError, match=message):
        helm_python.Chart.load(str(CHART_DIR)).render(
            values, name="pingvas", namespace="dev", is_install=True
        )
