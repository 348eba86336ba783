"""Runs independent steps in forked child processes, one per core, results in order.

A forked child starts as a copy of its parent (copy-on-write), so what the parent has
already imported or computed costs it nothing: for the offline preview, the Pulumi SDKs'
modules (most of a cold preview) and the platform preview that environments read. Each
child sends its step's result back through a pipe, pickled; the caller gets the results
in the order of its items, whichever child finished first, and an exception raised by a
step is raised again in the parent, the child's traceback attached as a note.

Forking a process with other threads alive can leave a child holding a lock no thread
will release, so steps run one after another in this process instead when another
thread is alive, on a system without `os.fork`, or when there is only one step.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Generator, Sequence
from typing import Any, NoReturn, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class ChildLost(RuntimeError):
    """A child ended without sending its result (killed, or its result would not pickle)."""


def can_fork() -> bool:
    return hasattr(os, "fork") and threading.active_count() == 1


def cores() -> int:
    """The cores this process may run on (its affinity, where the system says)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def ordered_map(
    step: Callable[[Item], Result], items: Sequence[Item], *, parallel: int | None = None
) -> Generator[Result, None, None]:
    """step(item) for each item, at most `parallel` (default: the cores) at once in forked
    children, yielded in the order of `items`. Closing the iterator early, or an exception
    in the parent (Ctrl-C), stops the children still running."""
    if len(items) < 2 or not can_fork():
        yield from (step(item) for item in items)
        return
    width = max(1, parallel or cores())
    children: list[_Child] = []
    try:
        for item in items[:width]:
            children.append(_Child.start(step, item))
        for index in range(len(items)):
            outcome: Result = children[index].outcome()
            if index + width < len(items):
                children.append(_Child.start(step, items[index + width]))
            yield outcome
    finally:
        for child in children:
            child.stop()


class _Child:
    def __init__(self, pid: int, pipe: int, item: object) -> None:
        self.pid, self.pipe, self.item = pid, pipe, item
        self.reaped = False
        self.pipe_open = True

    @classmethod
    def start(cls, step: Callable[[Item], Result], item: Item) -> _Child:
        sys.stdout.flush()  # else the child's copy of unwritten output is written twice
        sys.stderr.flush()
        read_end, write_end = os.pipe()
        # Ctrl-C held back while forking: arriving during the fork's own handlers, it
        # would be swallowed ("Exception ignored") and the interruption lost.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            pid = os.fork()
            if pid == 0:
                os.close(read_end)
                # A terminal's Ctrl-C reaches every process of its group: a child just
                # ends (held back, it ends here), and the parent reports it once.
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
                _run_child(step, item, write_end)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        os.close(write_end)
        return cls(pid, read_end, item)

    def outcome(self) -> Any:
        self.pipe_open = False  # the file object below owns (and closes) it
        with os.fdopen(self.pipe, "rb") as pipe:
            payload = pipe.read()
        _, status = os.waitpid(self.pid, 0)
        self.reaped = True
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGINT:
            raise KeyboardInterrupt  # Ctrl-C reached the child first
        if not payload:
            raise ChildLost(f"the step for {self.item!r} ended without a result ({status=:#x})")
        succeeded, value = pickle.loads(payload)  # noqa: S301 (our own child's bytes)
        if not succeeded:
            raise value
        return value

    def stop(self) -> None:
        if self.pipe_open:
            os.close(self.pipe)
            self.pipe_open = False
        if not self.reaped:
            os.kill(self.pid, signal.SIGTERM)  # not yet reaped: it exists, if only as a zombie
            os.waitpid(self.pid, 0)
            self.reaped = True


def _run_child(step: Callable[[Item], Result], item: Item, pipe: int) -> NoReturn:
    """Never returns: the child must not run the parent's cleanup (atexit, a test
    runner's teardown, buffered output) a second time."""
    status = 0
    try:
        try:
            payload = pickle.dumps((True, step(item)))
        except Exception as error:  # raised again in the parent
            error.add_note(f"in a forked child, for {item!r}:\n{traceback.format_exc()}")
            try:
                payload = pickle.dumps((False, error))
            except Exception:  # an exception that will not pickle: its text will
                payload = pickle.dumps((False, ChildLost(traceback.format_exc())))
        with os.fdopen(pipe, "wb") as out:
            out.write(payload)
    except BaseException:  # the parent reports a child without a result
        status = 1
    finally:
        os._exit(status)
