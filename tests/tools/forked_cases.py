"""Steps in forked children: results in order, errors raised again, children never left.

Run by tests/tools/test_forked.py in a fresh interpreter: tools.forked forks only when no
other thread is alive, which a test worker that ran other tests cannot promise."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

import pytest

from infra.config import ConfigError
from tools import forked


def slow_first(item: int) -> tuple[int, int]:
    time.sleep(0.6 if item == 0 else 0.0)  # the first item finishes last
    return item, os.getpid()


def test_results_come_in_the_items_order_from_other_processes() -> None:
    results = list(forked.ordered_map(slow_first, [0, 1, 2], parallel=3))
    assert [item for item, _ in results] == [0, 1, 2]
    pids = {pid for _, pid in results}
    assert os.getpid() not in pids
    assert len(pids) == 3


def test_with_another_thread_alive_the_steps_run_here_one_after_another() -> None:
    """Control: forking then could leave a child holding a lock that thread held."""
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not forked.can_fork()
        results = list(forked.ordered_map(slow_first, [0, 1, 2]))
    finally:
        stop.set()
        thread.join()
    assert results == [(0, os.getpid()), (1, os.getpid()), (2, os.getpid())]


def invalid(item: str) -> str:
    if item == "bad":
        raise ConfigError(f"{item}: cluster.version: no such version")
    return item


def test_a_steps_exception_is_raised_again_in_the_parent() -> None:
    results = forked.ordered_map(invalid, ["good", "bad"])
    assert next(results) == "good"
    with pytest.raises(ConfigError, match=re.escape("cluster.version: no such version")) as raised:
        next(results)
    # Where it failed, for a bug's traceback: the child's own frames.
    assert any("in a forked child, for 'bad'" in note for note in raised.value.__notes__)


def killed(item: str) -> str:
    if item == "killed":
        os.kill(os.getpid(), signal.SIGKILL)
    return item


def test_a_child_that_dies_without_a_result_is_an_error_not_a_hang() -> None:
    with pytest.raises(forked.ChildLost, match="'killed' ended without a result"):
        list(forked.ordered_map(killed, ["fine", "killed"]))


def sleep_long(item: str, pids: Path) -> str:
    if item != "quick":
        with pids.open("a") as out:
            out.write(f"{os.getpid()}\n")
        time.sleep(60)
    return item


def test_closing_early_stops_and_reaps_the_children_still_running(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    results = forked.ordered_map(
        lambda item: sleep_long(item, pids), ["quick", "slow", "slower"], parallel=3
    )
    assert next(results) == "quick"
    deadline = time.monotonic() + 30
    while len(pids.read_text().split() if pids.exists() else []) < 2:
        assert time.monotonic() < deadline, "the slow children never started"
        time.sleep(0.05)
    running = [int(pid) for pid in pids.read_text().split()]
    for pid in running:
        os.kill(pid, 0)  # control: they are running now
    started = time.monotonic()
    results.close()
    assert time.monotonic() - started < 10  # stopped, not waited for
    for pid in running:
        with pytest.raises(ChildProcessError):  # reaped: no zombie left behind
            os.waitpid(pid, os.WNOHANG)
