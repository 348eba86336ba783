"""Kubernetes-side rules CrossGuard cannot see inside a Helm release (issue 12), run over
rendered manifests: no LoadBalancer/NodePort Service, ExternalSecrets reference only
their namespace's store, Ingress hosts inside the environment's names. The cluster
enforces the same rules at admission (components/cluster/admission.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from components.cluster.secret_store import SECRET_STORE
from components.edge.preview_ingress import preview_hostname
from infra.config import Profile, owns_apex_hosts, profile_by_name
from infra.naming import Naming

Manifest = Mapping[str, Any]


def _name(manifest: Manifest) -> str:
    return f"{manifest.get('kind')}/{manifest.get('metadata', {}).get('name')}"


def external_services(manifests: Iterable[Manifest]) -> list[str]:
    return [
        f"{_name(m)} is of type {m['spec']['type']}"
        for m in manifests
        if m.get("kind") == "Service"
        and (m.get("spec") or {}).get("type") in ("LoadBalancer", "NodePort")
    ]


def foreign_secret_stores(manifests: Iterable[Manifest], namespace: str) -> list[str]:
    found = []
    for manifest in manifests:
        if manifest.get("kind") != "ExternalSecret":
            continue
        reference = (manifest.get("spec") or {}).get("secretStoreRef") or {}
        if manifest.get("metadata", {}).get("namespace") != namespace:
            found.append(f"{_name(manifest)} is outside namespace {namespace}")
        if (reference.get("kind"), reference.get("name")) != ("SecretStore", SECRET_STORE):
            found.append(f"{_name(manifest)} reads through {reference}, not its namespace's store")
    return found


def foreign_ingress_hosts(manifests: Iterable[Manifest], stack: str, domain: str) -> list[str]:
    """Hosts must be the environment's own: `<service>.<stack>.<domain>` (prod: apex); a
    preview's one host is `<stack>.pr.<domain>`."""
    found = []
    for manifest in manifests:
        if manifest.get("kind") != "Ingress":
            continue
        for rule in (manifest.get("spec") or {}).get("rules") or []:
            host = str(rule.get("host", ""))
            service = host.split(".", 1)[0]
            own = (
                preview_hostname(stack, domain)
                if profile_by_name(stack) is Profile.EPHEMERAL
                else Naming(stack).hostname(service, domain, apex=owns_apex_hosts(stack))
            )
            if host != own:
                found.append(f"{_name(manifest)} claims {host!r}, outside {stack}'s names")
    return found
