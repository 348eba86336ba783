"""One Redis secret shape: every key a chart template reads from the Redis secret is
written by both Redis components (ElastiCache in either mode, and in-cluster), so the
chart reads one shape whichever runs the server, and takes no URL apart."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from components.data.in_cluster_redis import InClusterRedis, InClusterRedisArgs
from components.data.managed_redis import ManagedRedis, ManagedRedisArgs, ManagedRedisMode
from components.data.redis import SECRET_KEYS
from tests.support.capture import run_capturing
from tests.support.chart import STACKS, Render
from tests.support.stacks import explicit_aws

TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "chart" / "templates"


def secret_reads(node: Any) -> Iterator[tuple[str, str]]:
    """(Secret name, key) of every secretKeyRef and KEDA secretTargetRef in a manifest."""
    if isinstance(node, dict):
        for reference in [node.get("secretKeyRef"), *node.get("secretTargetRef", [])]:
            if isinstance(reference, dict):
                yield reference["name"], reference["key"]
        for value in node.values():
            yield from secret_reads(value)
    elif isinstance(node, list):
        for item in node:
            yield from secret_reads(item)


def redis_keys_read(render: Render) -> set[str]:
    name = render.values["redis"]["existingSecret"] or "pingvas-redis"
    return {
        key
        for manifest in render.manifests
        for secret, key in secret_reads(manifest)
        if secret == name
    }


def managed(mode: ManagedRedisMode) -> Callable[[], None]:
    def program() -> None:
        ManagedRedis(
            "pingvas-test-redis",
            ManagedRedisArgs(
                mode=mode,
                replicas=1 if mode is ManagedRedisMode.REPLICATED else 0,
                replication_group_id="pingvas-test-redis",
                secret_name="pingvas-test-redis",
                subnet_ids=["subnet-a", "subnet-b"],
                security_group_id="sg-redis",
                availability_zones=["us-east-1a", "us-east-1b"],
            ),
            opts=explicit_aws(),
        )

    return program


def in_cluster() -> None:
    provider = k8s.Provider("k8s", kubeconfig="{}")
    InClusterRedis(
        "pingvas-pr-7-redis",
        InClusterRedisArgs(namespace="pr-7"),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )


def written_keys(monkeypatch: pytest.MonkeyPatch, variant: str) -> set[str]:
    if variant == "in-cluster":
        _, secrets = run_capturing(monkeypatch, "kubernetes:core/v1:Secret", in_cluster)
        (secret,) = secrets
        return set(secret["stringData"])
    version_type = "aws:secretsmanager/secretVersion:SecretVersion"
    _, versions = run_capturing(monkeypatch, version_type, managed(ManagedRedisMode(variant)))
    (version,) = versions
    return set(json.loads(version["secretString"]))


@pytest.mark.parametrize("variant", ["replicated", "standalone", "in-cluster"])
def test_every_redis_component_writes_the_one_shape(
    monkeypatch: pytest.MonkeyPatch, variant: str
) -> None:
    assert written_keys(monkeypatch, variant) == set(SECRET_KEYS)


@pytest.mark.parametrize("stack", STACKS)
def test_the_chart_reads_only_keys_every_redis_component_writes(
    renders: dict[str, Render], stack: str
) -> None:
    read = redis_keys_read(renders[stack])
    assert "REDIS_URL" in read  # the app's connection
    assert read <= set(SECRET_KEYS)


def test_no_template_takes_a_secret_value_apart() -> None:
    for template in TEMPLATES.rglob("*.yaml"):
        text = template.read_text()
        for function in ("urlParse", "trimPrefix", "regexFind", "splitList"):
            assert function not in text, f"{template.name}: {function}"
