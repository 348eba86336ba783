"""What an operator sees after an install (NOTES.txt) and what `helm test` checks: each API
service's /readyz, from a restricted one-off Pod."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from app.chart_values import CHART_DIR
from tests.support.chart import SERVICES, STACKS, Render, outputs

READYZ_SCRIPT = (CHART_DIR / "files" / "readyz.py").read_text()


def notes(render: Render) -> str:
    return render.files["pingvas/templates/NOTES.txt"]


def helm_test_pod(render: Render) -> dict[str, Any]:
    (pod,) = [
        m for m in render.of_kind("Pod") if m["metadata"]["annotations"]["helm.sh/hook"] == "test"
    ]
    return pod


@pytest.mark.parametrize("stack", STACKS)
def test_notes_say_where_the_api_is_and_how_to_check_it(
    renders: dict[str, Render], stack: str
) -> None:
    text = notes(renders[stack])
    edge = outputs(stack)["edge"]
    low, high = outputs(stack)["settings"]["gpuWorkers"].values()
    assert f"environment {stack}, namespace {stack}." in text
    assert f"https://{edge['apiHostname']}/api/ (ALB group {edge['ingressGroup']})" in text
    assert f"{low}-{high} workers, scaled by KEDA on {{pingvas:jobs}}:pro," in text
    assert "Services   gallery-service:8004 generation-service:8003" in text
    assert f"helm test pingvas -n {stack} --logs" in text
    assert ("(HPA)" in text) == (stack == "prod")


@pytest.mark.parametrize("stack", STACKS)
def test_helm_test_asks_every_service_for_readyz_from_a_restricted_pod(
    renders: dict[str, Render], stack: str
) -> None:
    render = renders[stack]
    pod = helm_test_pod(render)
    assert pod["metadata"]["name"] == "pingvas-readiness"
    assert pod["metadata"]["namespace"] == stack
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Never"
    assert spec["automountServiceAccountToken"] is False
    assert "serviceAccountName" not in spec  # no Pod Identity role: it calls no AWS API
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = spec["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert (
        container["image"]
        == render.one("Deployment", "user-service")["spec"]["template"]["spec"]["containers"][0][
            "image"
        ]
    )
    assert container["command"][:3] == ["python", "-c", READYZ_SCRIPT]
    assert sorted(container["command"][3:]) == sorted(
        f"{name}:{port}" for name, (port, _) in SERVICES.items()
    )
    assert container["resources"]["limits"].keys() == {"cpu", "memory"}
    # Only at `helm test`: never part of an install or upgrade.
    assert "pre-install" not in pod["metadata"]["annotations"]["helm.sh/hook"]


class _Readyz(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        code = self.status if self.path == "/readyz" else 404
        self.send_response(code)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def services() -> Iterator[dict[str, str]]:
    """A ready and an unready service on loopback ports: name → host:port."""
    servers = {}
    for name, status in (("ready", 200), ("unready", 503)):
        handler = type(f"Handler{status}", (_Readyz,), {"status": status})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers[name] = server
    yield {name: f"127.0.0.1:{server.server_address[1]}" for name, server in servers.items()}
    for server in servers.values():
        server.shutdown()
        server.server_close()


def run_readyz(*addresses: str) -> subprocess.CompletedProcess[str]:
    """The hook's command, as the Pod runs it."""
    return subprocess.run(
        [sys.executable, "-c", READYZ_SCRIPT, *addresses],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_the_readiness_check_passes_only_when_every_service_answers_200(
    services: dict[str, str],
) -> None:
    ready, unready = services["ready"], services["unready"]
    passed = run_readyz(ready, ready)
    assert passed.returncode == 0, passed.stdout
    assert passed.stdout.splitlines() == [f"{ready}/readyz: 200"] * 2
    failed = run_readyz(ready, unready)
    assert failed.returncode == 1
    assert f"{unready}/readyz: 503" in failed.stdout
    refused = run_readyz("127.0.0.1:1")
    assert refused.returncode == 1
    assert "127.0.0.1:1/readyz: unreachable" in refused.stdout
    assert run_readyz().returncode == 1  # nothing to check is no pass


def test_every_inline_checkov_skip_is_documented(renders: dict[str, Render]) -> None:
    docs = (CHART_DIR.parents[1] / "docs" / "chart.md").read_text()
    skipped = {
        value.split("=", 1)[0]
        for render in renders.values()
        for manifest in render.manifests
        for key, value in manifest["metadata"].get("annotations", {}).items()
        if key.startswith("checkov.io/skip")
    }
    assert skipped == {"CKV_K8S_8", "CKV_K8S_9"}
    assert all(f"`{check}`" in docs for check in skipped)
