"""Runs the real Pulumi program under Pulumi's mock runtime: no cloud, no CLI.

This is the engine of the offline preview (`python -m tools.preview`), of the
infrastructure tests and of the component examples (`examples/`). The mocks act like a
well-behaved provider: every resource gets a stable, unique id derived from its URN,
echoes its inputs as outputs, and gains the computed attributes programs commonly read
(`arn`, an autonamed `name`; `computed.py`). Data sources
answer with fixed, plausible values. Stack references answer with the outputs of
another offline run.

Two sharp edges of the stock mock monitor are fixed here (docs/architecture.md, "Testing
without a cloud"):
resource references inside inputs are replaced by their URN before the mock sees them
(else they are rehydrated on the monitor's thread and hang), and resources are
recorded with their parent and provider so the tree can be printed and followed.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pulumi
from google.protobuf import struct_pb2

from pulumi_offline import internals
from pulumi_offline.computed import ACCOUNT_ID, COMPUTED_OUTPUTS, mock_id, partition_of
from pulumi_offline.records import SECRET, OfflineRun, RecordedResource

# Pulumi.yaml disables these packages' default providers: like the engine, refuse them.
EXPLICIT_PROVIDER_PACKAGES = ("aws", "kubernetes")
ORGANIZATION = "organization"
# AWS types whose id is their name, so their ARN ends with it (`role/<name>`): admission
# rules read that name out of the ARN.
NAMED_BY_ID = frozenset({"aws:iam/role:Role"})


class OfflineMocks(pulumi.runtime.Mocks):
    def __init__(self, region: str, stack_outputs: Mapping[str, Mapping[str, Any]]) -> None:
        self.region = region
        self.stack_outputs = stack_outputs

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == "pulumi:pulumi:StackReference":
            return self._stack_reference(args.name)
        _require_explicit_provider(args.typ, args.provider, f"resource {args.name}")
        resource_id = args.resource_id or mock_id(args.typ, args.name)
        state = dict(args.inputs)
        if args.typ in NAMED_BY_ID:
            # AWS's id is the name, auto-named as Pulumi does: `<logical name>-<7 hex>`.
            resource_id = (
                args.resource_id or state.get("name") or (f"{args.name}-{resource_id[-7:]}")
            )
            state["name"] = resource_id
        if args.typ.startswith("aws:"):
            state.setdefault("arn", self._arn(args.typ, resource_id))
            state.setdefault("name", f"{args.name}-{resource_id[-7:]}")
        computed = COMPUTED_OUTPUTS.get(args.typ)
        if computed is not None:
            state.update(computed(args.name, resource_id, state, self.region))
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        partition = partition_of(self.region)
        answers: dict[str, Callable[[], dict[str, Any]]] = {
            "aws:index/getCallerIdentity:getCallerIdentity": lambda: {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:{partition['partition']}:iam::{ACCOUNT_ID}:user/offline-preview",
                "userId": "AIDAOFFLINEPREVIEW",
            },
            "aws:index/getRegion:getRegion": lambda: {
                "name": self.region,
                "region": self.region,
                "endpoint": f"ec2.{self.region}.{partition['dnsSuffix']}",
            },
            "aws:index/getPartition:getPartition": lambda: {
                "id": partition["partition"],
                **partition,
            },
        }
        _require_explicit_provider(args.token, args.provider, "data source")
        answer = answers.get(args.token)
        if answer is None:
            raise LookupError(f"the offline runtime does not answer {args.token}")
        return answer()

    def _stack_reference(self, name: str) -> tuple[str, dict[str, Any]]:
        if name not in self.stack_outputs:
            known = ", ".join(sorted(self.stack_outputs)) or "none"
            raise LookupError(f"no offline outputs for stack {name!r} (known: {known})")
        return name, {
            "name": name,
            "outputs": dict(self.stack_outputs[name]),
            "secretOutputNames": [],
        }

    def _arn(self, type_token: str, resource_id: str) -> str:
        service = type_token.split(":")[1].split("/")[0]
        region = "" if service == "iam" else self.region
        partition = partition_of(self.region)["partition"]
        return f"arn:{partition}:{service}:{region}:{ACCOUNT_ID}:{resource_id}"


def _require_explicit_provider(token: str, provider: str | None, what: str) -> None:
    package = token.split(":", 1)[0]
    if package in EXPLICIT_PROVIDER_PACKAGES and not provider:
        raise ValueError(
            f"{what} {token} uses the default {package} provider, which Pulumi.yaml disables"
        )


class OfflineMonitor(internals.MockMonitor):
    """The stock mock monitor, made safe for resource-reference inputs, and recording."""

    def __init__(self, mocks: OfflineMocks) -> None:
        super().__init__(mocks)
        self.recorded: list[RecordedResource] = []
        self._urns: set[str] = set()

    def RegisterResource(self, request: Any) -> Any:
        safe_request = type(request)()
        safe_request.CopyFrom(request)
        _replace_resource_references(safe_request.object)
        response = super().RegisterResource(safe_request)
        if request.type != "pulumi:pulumi:Stack":
            self._claim(response.urn)
            self._record(safe_request, safe_request.object, response.urn, response.id)
        return response

    def _claim(self, urn: str) -> None:
        """Refuses a URN registered before, as the engine does (a second resource of the
        same type and name under the same parent would overwrite the first's state)."""
        if urn in self._urns:
            raise pulumi.RunError(f"Duplicate resource URN '{urn}'; try giving it a unique name")
        self._urns.add(urn)

    def ReadResource(self, request: Any) -> Any:
        response = super().ReadResource(request)
        self._record(request, request.properties, response.urn, request.id or request.name)
        return response

    def _record(
        self, request: Any, properties: struct_pb2.Struct, urn: str, resource_id: str
    ) -> None:
        inputs = internals.deserialize_properties(properties)
        self.recorded.append(
            RecordedResource(
                urn=urn,
                type=request.type,
                name=request.name,
                id=resource_id,
                parent=request.parent or None,
                provider=request.provider or None,
                inputs=_as_sent(inputs),
                protect=bool(getattr(request, "protect", False)),
                dependencies=sorted(getattr(request, "dependencies", [])),
                property_dependencies={
                    key: sorted(value.urns)
                    for key, value in sorted(getattr(request, "propertyDependencies", {}).items())
                    if value.urns
                },
                replace_on_changes=list(getattr(request, "replaceOnChanges", [])),
                delete_before_replace=bool(getattr(request, "deleteBeforeReplace", False)),
            )
        )


def _replace_resource_references(struct: struct_pb2.Struct) -> None:
    for key in list(struct.fields):
        _replace_in_value(struct.fields[key])


def _replace_in_value(value: struct_pb2.Value) -> None:
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        fields = value.struct_value.fields
        signature = fields.get(internals.SIG_KEY)
        if signature is not None and signature.string_value == internals.RESOURCE_SIG:
            value.string_value = fields["urn"].string_value
            return
        _replace_resource_references(value.struct_value)
    elif kind == "list_value":
        for item in value.list_value.values:
            _replace_in_value(item)


def _as_sent(value: Any) -> Any:
    """Inputs for display: secrets hidden, and whole numbers (protobuf doubles) as ints."""
    if isinstance(value, dict):
        if value.get(internals.SIG_KEY) == internals.SECRET_SIG:
            return SECRET
        return {key: _as_sent(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_sent(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def run_offline(
    *,
    project: str,
    stack: str,
    config: Mapping[str, str],
    program: Callable[[], None],
    region: str,
    secret_keys: list[str] | None = None,
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
) -> OfflineRun:
    """Runs `program` as stack `stack` with `config` (Pulumi's `ns:key` → string map).

    Safe to call many times in one process: the runtime is reset before each run, and
    each run has its own event loop and monitor threads, gone when it returns, so no task
    of one run reaches the next and a process may fork safely between runs.
    """
    with _own_event_loop():
        return _run(project, stack, config, program, region, secret_keys, stack_outputs)


def _run(
    project: str,
    stack: str,
    config: Mapping[str, str],
    program: Callable[[], None],
    region: str,
    secret_keys: list[str] | None,
    stack_outputs: Mapping[str, Mapping[str, Any]] | None,
) -> OfflineRun:
    mocks = OfflineMocks(region, stack_outputs or {})
    monitor = OfflineMonitor(mocks)
    internals.forget_root_stack()
    pulumi.runtime.set_all_config(dict(config), secret_keys or [])
    pulumi.runtime.set_mocks(
        mocks,
        project=project,
        stack=stack,
        preview=False,
        monitor=monitor,
        organization=ORGANIZATION,
    )
    internals.forget_pending_outputs()
    result = OfflineRun(project=project, stack=stack)

    async def resolve_exports() -> None:
        for name, value in internals.root_exports().items():
            output = pulumi.Output.from_input(value)
            secret = await output.is_secret()
            result.outputs[name] = SECRET if secret else await output.future()

    def run() -> None:
        program()
        internals.sync_await(resolve_exports())

    internals.run_program(run)
    internals.sync_await(_finish_stray_tasks())
    result.resources = list(monitor.recorded)
    return result


class _MonitorThreads(ThreadPoolExecutor):
    """The threads the SDK runs monitor calls on, each with the event loop the stock mock
    monitor needs there; shutting down joins them and closes their loops."""

    def __init__(self) -> None:
        super().__init__(thread_name_prefix="offline-monitor", initializer=self._start)
        self._loops: list[asyncio.AbstractEventLoop] = []
        self._loops_lock = threading.Lock()

    def _start(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        with self._loops_lock:
            self._loops.append(loop)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=True, cancel_futures=cancel_futures)
        with self._loops_lock:
            for loop in self._loops:
                loop.close()
            self._loops.clear()


@contextlib.contextmanager
def _own_event_loop() -> Iterator[None]:
    """A fresh event loop and thread pool for one run, closed and joined after it (the SDK
    supports one process running programs on different loops: its mock-based tests do)."""
    loop = asyncio.new_event_loop()
    threads = _MonitorThreads()
    loop.set_default_executor(threads)
    asyncio.set_event_loop(loop)
    try:
        yield
    finally:
        # A failed run can leave registrations pending: cancelled and awaited here, as
        # asyncio.run does, rather than destroyed with the loop.
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        threads.shutdown()
        asyncio.set_event_loop(None)
        loop.close()


async def _finish_stray_tasks(timeout_seconds: float = 30) -> None:
    """Fails this run, not the next one, for an input that failed after the program ended.

    A resource whose input Output raises is registered by a task that outlives
    `run_pulumi_func`; left behind, its error would vanish with the run's loop."""
    current = asyncio.current_task()
    stray = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    if not stray:
        return
    done, pending = await asyncio.wait(stray, timeout=timeout_seconds)
    for task in pending:
        task.cancel()
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
