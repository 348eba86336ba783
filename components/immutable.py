"""Kubernetes fields the API server refuses to update, and the resource options that make
Pulumi replace an object when one of them changes instead of sending an update that fails.

The objects are named (no auto-naming), so the old one must go before the new one can be
created: delete before replace. Sources: the API server's update validation,
kubernetes/pkg/apis/storage/validation (ValidateStorageClassUpdate),
pkg/apis/scheduling/validation (ValidatePriorityClassUpdate) and
pkg/apis/networking/validation (ValidateIngressClassUpdate).
"""

from __future__ import annotations

import pulumi

# Input paths as the provider's schema names them (what `replace_on_changes` matches).
STORAGE_CLASS = ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode")
PRIORITY_CLASS = ("value", "preemptionPolicy")
INGRESS_CLASS = ("spec.controller",)


def replaced_on(fields: tuple[str, ...]) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(replace_on_changes=list(fields), delete_before_replace=True)
