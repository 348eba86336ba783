"""One data-store pod in an environment's namespace, for ephemeral stacks: a ClusterIP
Service and a single-replica StatefulSet whose volume is deleted with it (Redis and
PostgreSQL of `pr-<N>` stacks)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.conventions import Placement


def single_pod_store(
    name: str,
    *,
    server: str,
    namespace: pulumi.Input[str],
    port: int,
    labels: Mapping[str, str],
    pod_spec: k8s.core.v1.PodSpecArgs,
    storage_size: str,
    storage_class: str | None,
    opts: pulumi.ResourceOptions,
) -> None:
    """`server` names the Service and the StatefulSet; the pod mounts its volume as
    `data`."""
    metadata = k8s.meta.v1.ObjectMetaArgs(name=server, namespace=namespace, labels=dict(labels))
    k8s.core.v1.Service(
        f"{name}-service",
        metadata=metadata,
        spec=k8s.core.v1.ServiceSpecArgs(
            type="ClusterIP",
            selector=dict(labels),
            ports=[k8s.core.v1.ServicePortArgs(name=server, port=port, target_port=port)],
        ),
        opts=opts,
    )
    k8s.apps.v1.StatefulSet(
        f"{name}-statefulset",
        metadata=metadata,
        spec=k8s.apps.v1.StatefulSetSpecArgs(
            replicas=1,
            # By name, not the Service's output: the provider's await on a Service wants
            # endpoints, which only this StatefulSet's pod provides.
            service_name=server,
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(labels)),
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels=dict(labels)), spec=pod_spec
            ),
            volume_claim_templates=[
                k8s.core.v1.PersistentVolumeClaimArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(name="data"),
                    spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                        access_modes=["ReadWriteOnce"],
                        storage_class_name=storage_class,
                        resources=k8s.core.v1.VolumeResourceRequirementsArgs(
                            requests={"storage": storage_size}
                        ),
                    ),
                )
            ],
            # The data goes with the stack.
            persistent_volume_claim_retention_policy=(
                k8s.apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicyArgs(
                    when_deleted="Delete", when_scaled="Delete"
                )
            ),
        ),
        opts=opts,
    )


def non_root_pod(uid: int) -> k8s.core.v1.PodSecurityContextArgs:
    """Restricted Pod Security for an image's own user (the namespaces enforce it)."""
    return k8s.core.v1.PodSecurityContextArgs(
        run_as_non_root=True,
        run_as_user=uid,
        run_as_group=uid,
        fs_group=uid,
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def locked_down_container() -> k8s.core.v1.SecurityContextArgs:
    return k8s.core.v1.SecurityContextArgs(
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
    )


def placement_fields(placement: Placement) -> dict[str, Any]:
    """PodSpecArgs' nodeSelector and tolerations for `placement` (none when anywhere)."""
    return {
        "node_selector": dict(placement.node_selector) or None,
        "tolerations": [
            k8s.core.v1.TolerationArgs(
                key=t["key"], operator=t["operator"], value=t.get("value"), effect=t["effect"]
            )
            for t in placement.tolerations
        ]
        or None,
    }
