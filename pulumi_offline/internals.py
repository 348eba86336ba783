"""The Pulumi SDK internals the offline runtime relies on, resolved in this one place.

Pulumi's mock runtime covers one resource at a time; running a whole program offline
needs what the SDK does not export: the wire signatures of resource
references and secrets, the runtime's root-stack and pending-output state (reset between
runs), the event-loop helper and the program runner. Any minor release may move them, so
pyproject.toml pins `pulumi` to the release they were checked against, and importing
this module fails at once, naming each symbol that moved, rather than a preview hanging
or going silently wrong later (tests/offline/test_internals.py).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from importlib.metadata import version
from typing import Any

# What the runtime calls each internal → where this SDK release keeps it.
INTERNALS = {
    "SIG_KEY": "pulumi.runtime.rpc._special_sig_key",
    "RESOURCE_SIG": "pulumi.runtime.rpc._special_resource_sig",
    "SECRET_SIG": "pulumi.runtime.rpc._special_secret_sig",
    "deserialize_properties": "pulumi.runtime.rpc.deserialize_properties",
    "ROOT": "pulumi.runtime.settings.ROOT",
    "SETTINGS": "pulumi.runtime.settings.SETTINGS",
    "get_root_resource": "pulumi.runtime.settings.get_root_resource",
    "run_pulumi_func": "pulumi.runtime.stack.run_pulumi_func",
    "sync_await": "pulumi.runtime.sync_await._sync_await",
    "MockMonitor": "pulumi.runtime.mocks.MockMonitor",
}


class SdkInternalsMoved(ImportError):
    """The installed Pulumi SDK lacks internals the offline runtime uses."""


def resolve(path: str) -> Any:
    """The object at `path` (`package.module.name`), or None if this SDK has none."""
    module_name, _, name = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return getattr(module, name, None)


def _resolve_all() -> dict[str, Any]:
    found = {alias: resolve(path) for alias, path in INTERNALS.items()}
    missing = [INTERNALS[alias] for alias, value in found.items() if value is None]
    if missing:
        raise SdkInternalsMoved(
            f"pulumi {version('pulumi')} moved or removed what the offline runtime uses: "
            f"{', '.join(missing)}. Install the pulumi release pyproject.toml pins, or "
            "adapt pulumi_offline/internals.py to this one."
        )
    return found


_found = _resolve_all()

# A resource reference or a secret on the wire: {SIG_KEY: RESOURCE_SIG | SECRET_SIG, ...}.
SIG_KEY: str = _found["SIG_KEY"]
RESOURCE_SIG: str = _found["RESOURCE_SIG"]
SECRET_SIG: str = _found["SECRET_SIG"]
deserialize_properties: Callable[[Any], Any] = _found["deserialize_properties"]
# The stock mock monitor, which the runtime's own monitor extends.
MockMonitor: Any = _found["MockMonitor"]
sync_await: Callable[[Awaitable[Any]], Any] = _found["sync_await"]
_ROOT = _found["ROOT"]
_SETTINGS = _found["SETTINGS"]
_get_root_resource: Callable[[], Any] = _found["get_root_resource"]
_run_pulumi_func: Callable[[Callable[[], None]], Awaitable[None]] = _found["run_pulumi_func"]


def forget_root_stack() -> None:
    """Else the previous run's root stack, and its exports, leak into the next run."""
    _ROOT.set(None)


def forget_pending_outputs() -> None:
    """The mock settings keep the previous run's set of pending output tasks."""
    _SETTINGS.outputs.clear()


def root_exports() -> dict[str, Any]:
    exports: dict[str, Any] = getattr(_get_root_resource(), "outputs", {})
    return exports


def run_program(program: Callable[[], None]) -> None:
    """Runs `program` as the engine would, waiting for every registration it starts."""
    sync_await(_run_pulumi_func(program))
