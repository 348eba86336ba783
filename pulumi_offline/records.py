"""What an offline run records: each resource as the engine received it, and the stack's
outputs. Plain data, so a run can be cached, compared and printed as JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SECRET = "[secret]"  # noqa: S105 (a placeholder, not a password)


@dataclass(frozen=True)
class RecordedResource:
    urn: str
    type: str
    name: str
    id: str
    parent: str | None
    provider: str | None
    inputs: dict[str, Any]  # as sent: camelCase, secrets shown as "[secret]"
    # The `protect` resource option (inherited from the parent, as the engine does).
    protect: bool = False
    # URNs this resource waits for (explicit `depends_on` and the resources its inputs
    # come from), as the engine receives them: the edges of the deployment's graph.
    dependencies: list[str] = field(default_factory=list)
    # For each input (top-level, camelCase), the URNs its value was computed from, as the
    # engine receives them: which inputs a replacement makes unknown (tools/diff.py).
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    # The `replace_on_changes` and `delete_before_replace` resource options: inputs whose
    # change the engine turns into a replacement, and whether it deletes first.
    replace_on_changes: list[str] = field(default_factory=list)
    delete_before_replace: bool = False

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "id": self.id,
            "parent": self.parent,
            "provider": self.provider,
            "inputs": self.inputs,
            "dependencies": self.dependencies,
            "propertyDependencies": self.property_dependencies,
        }
        if self.replace_on_changes:  # only where set: most resources have none
            document["replaceOnChanges"] = self.replace_on_changes
            document["deleteBeforeReplace"] = self.delete_before_replace
        return document


@dataclass
class OfflineRun:
    project: str
    stack: str
    resources: list[RecordedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_token: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str) -> RecordedResource:
        matches = [r for r in self.of_type(type_token) if r.name == name]
        if len(matches) != 1:
            raise LookupError(f"{len(matches)} {type_token} named {name!r}")
        return matches[0]

    def by_id(self, resource_id: str) -> RecordedResource:
        for resource in self.resources:
            if resource.id == resource_id:
                return resource
        raise LookupError(f"no resource with id {resource_id!r}")

    def by_urn(self, urn: str) -> RecordedResource:
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise LookupError(f"no resource with URN {urn!r}")

    def provider_of(self, resource: RecordedResource) -> RecordedResource:
        """The provider resource behind `resource` (its reference is `urn::id`)."""
        if not resource.provider:
            raise LookupError(f"{resource.name} uses the default provider")
        return self.by_urn(resource.provider.rsplit("::", 1)[0])
