"""Immutable fields (issue 23, item 4): a change to a field the API server refuses to update
is planned as a replacement (delete, then create: the objects are named), never as an update
that fails half-way through `pulumi up`; a change to a mutable field stays an update. The
models volume, which the app's Helm release owns, is renamed from its immutable inputs so
Helm makes a new PersistentVolume and claim rather than patching the old ones."""

from __future__ import annotations

from typing import Any

import pytest

from components import immutable
from pulumi_offline import OfflineRun
from tests.support.chart import release_values, render
from tests.support.replacement import planned
from tests.support.stacks import run_stack

IMMUTABLE = {
    "kubernetes:storage.k8s.io/v1:StorageClass": immutable.STORAGE_CLASS,
    "kubernetes:scheduling.k8s.io/v1:PriorityClass": immutable.PRIORITY_CLASS,
    "kubernetes:networking.k8s.io/v1:IngressClass": immutable.INGRESS_CLASS,
}
# Two values for each immutable field (a change sets the one the resource does not
# have), and one mutable field per kind (the control).
NEW_VALUES: dict[str, tuple[Any, Any]] = {
    "provisioner": ("example.com/other", "example.com/another"),
    "parameters": ({"type": "io2"}, {"type": "st1"}),
    "reclaimPolicy": ("Retain", "Delete"),
    "volumeBindingMode": ("Immediate", "WaitForFirstConsumer"),
    "value": (123, 456),
    "preemptionPolicy": ("Never", "PreemptLowerPriority"),
    "spec.controller": ("example.com/other", "example.com/another"),
}
MUTABLE = {
    "kubernetes:storage.k8s.io/v1:StorageClass": ("allowVolumeExpansion", False),
    "kubernetes:scheduling.k8s.io/v1:PriorityClass": ("description", "changed"),
    "kubernetes:networking.k8s.io/v1:IngressClass": ("spec.parameters.name", "other"),
}


def setter(path: str, *values: Any) -> Any:
    """Sets `path` to the first of `values` it does not hold already."""

    def change(inputs: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        for key in parents:
            inputs = inputs.setdefault(key, {})
        inputs[leaf] = next(value for value in values if inputs.get(leaf) != value)

    return change


def cases() -> list[tuple[str, str, str]]:
    # Sorted: registration order varies between runs, and xdist's workers must agree.
    return sorted(
        (stack, resource.name, resource.type)
        for stack in ("shared", "dev", "prod", "pr-7")
        for resource in run_stack(stack).resources
        if resource.type in IMMUTABLE
    )


@pytest.mark.parametrize(("stack", "name", "type_token"), cases())
def test_an_immutable_field_change_is_a_replacement(stack: str, name: str, type_token: str) -> None:
    run: OfflineRun = run_stack(stack)
    (resource,) = [r for r in run.resources if r.name == name]
    assert resource.delete_before_replace  # a named object: the old one goes first
    for field in IMMUTABLE[type_token]:
        assert planned(run, name, setter(field, *NEW_VALUES[field])) == "replace", field
    path, value = MUTABLE[type_token]
    assert planned(run, name, setter(path, value)) == "update"


def test_every_kind_with_immutable_fields_is_in_a_preview() -> None:
    assert {type_token for _, _, type_token in cases()} == set(IMMUTABLE)


def models_objects(stack: str, **models: str) -> dict[str, str]:
    """kind → name of the models PersistentVolume and claim, with `models` values changed."""
    values = release_values(stack)
    values = {**values, "models": {**values["models"], **models}}
    return {
        m["kind"]: m["metadata"]["name"]
        for m in render(stack, values).manifests
        if m["kind"] in ("PersistentVolume", "PersistentVolumeClaim")
    }


@pytest.mark.parametrize("change", [{"size": "200Gi"}, {"accessPointId": "fsap-0123456789abcdef0"}])
def test_a_new_models_size_or_access_point_makes_a_new_volume_and_claim(
    change: dict[str, str],
) -> None:
    before, after = models_objects("dev"), models_objects("dev", **change)
    assert before.keys() == after.keys() == {"PersistentVolume", "PersistentVolumeClaim"}
    assert all(before[kind] != after[kind] for kind in before)


def test_the_models_volume_keeps_its_name_when_nothing_immutable_changes() -> None:
    """The chart's default size (100Gi) set explicitly: the same volume."""
    assert models_objects("dev") == models_objects("dev", size="100Gi")
