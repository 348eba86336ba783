"""The docs run as typed: every shell block (```sh, bash, shell, console) of README.md and
docs/**/*.md carries a marker on the line before it, and the blocks marked to run are
executed, as typed and in the order of their file, each by `bash -e -o pipefail` (so any
command's failure fails it) from a scratch directory that links the repository's
top-level entries (so what a block writes, such as base.json, lands there). A non-zero
exit or a traceback fails the test.

    <!-- docs-test: run -->
    <!-- docs-test: skip (why it cannot run here: needs AWS, runs until Ctrl-C, ...) -->

An unmarked shell block, or a skip without a reason, is refused: the harness does not
guess which commands are safe to run."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SHELL = {"sh", "bash", "shell", "console"}
FENCE = re.compile(r"^```(\w*)\s*$")
MARKER = re.compile(r"^<!-- docs-test: (run|skip \((?P<reason>[^)]+)\)) -->$")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    code: str
    run: bool
    reason: str | None

    def __str__(self) -> str:
        return f"{self.path.name}:{self.line}"


class Unmarked(Exception):
    """A shell block without a marker (or with one the harness cannot read)."""


def shell_blocks(path: Path) -> list[Block]:
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        fence = FENCE.match(lines[index])
        if not fence:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        if fence.group(1) in SHELL:
            previous = lines[index - 1] if index else ""
            marker = MARKER.match(previous)
            where = f"{path.name}:{index + 1}"
            if marker is None:
                raise Unmarked(
                    f"{where}: a shell block without `<!-- docs-test: run -->` or "
                    "`<!-- docs-test: skip (reason) -->` on the line before it"
                )
            code = "\n".join(lines[index + 1 : end])
            reason = marker.group("reason")
            blocks.append(Block(path, index + 1, code, run=reason is None, reason=reason))
        index = end + 1
    return blocks


def run_blocks(blocks: list[Block], scratch: Path) -> None:
    """The file's blocks to run, in order, each by `bash -e`; fails naming the block."""
    for entry in ROOT.iterdir():
        if entry.name != ".git":
            (scratch / entry.name).symlink_to(entry)
    for block in blocks:
        if not block.run:
            continue
        result = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", block.code],
            cwd=scratch,
            capture_output=True,
            text=True,
            timeout=900,  # a guard against a hung command; on an idle machine ~1 min in all
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{block} exited {result.returncode}:\n{output[-3000:]}"
        assert "Traceback (most recent call last)" not in output, f"{block}:\n{output[-3000:]}"


@pytest.mark.parametrize("path", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_shell_block_is_marked(path: Path) -> None:
    for block in shell_blocks(path):
        assert block.run or block.reason.strip(), block  # type: ignore[union-attr]


# The files with blocks to run, each a test so that pytest-xdist can spread them.
RUNNABLE = [path for path in DOCS if any(block.run for block in shell_blocks(path))]


@pytest.mark.parametrize("path", RUNNABLE, ids=lambda path: str(path.relative_to(ROOT)))
def test_the_docs_commands_run_as_typed(path: Path, tmp_path: Path) -> None:
    run_blocks(shell_blocks(path), tmp_path)


def test_the_readme_and_the_cost_page_have_commands_that_run() -> None:
    """What runs here is not whittled down to nothing by skip markers."""
    assert {path.name for path in RUNNABLE} >= {"README.md", "cost.md"}


def test_an_unmarked_block_is_refused(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Page\n\n```sh\nrm -rf build\n```\n\n```\nnot shell\n```\n")
    with pytest.raises(Unmarked, match=r"page\.md:3"):
        shell_blocks(page)
    page.write_text("<!-- docs-test: skip () -->\n```bash\nls\n```\n")
    with pytest.raises(Unmarked):
        shell_blocks(page)  # a skip needs its reason


@pytest.mark.parametrize(
    "code",
    [
        "true\nfalse\ntrue",  # a failing command in the middle
        "ls | false | cat",  # a pipeline that fails
        "python3 -c 'raise SystemExit(0)' && python3 -c 'import sys; "
        'sys.stderr.write("Traceback (most recent call last):\\n")\'',
    ],
)
def test_a_failing_block_fails_the_run(code: str, tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(f"<!-- docs-test: run -->\n```sh\n{code}\n```\n")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with pytest.raises(AssertionError, match=r"page\.md:2"):
        run_blocks(shell_blocks(page), scratch)


def test_blocks_run_in_order_in_a_scratch_directory_and_skips_do_not_run(tmp_path: Path) -> None:
    """Control: a passing page; what it writes stays out of the repository."""
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- docs-test: run -->\n```sh\necho one > order.txt\n```\n"
        "<!-- docs-test: skip (would fail) -->\n```sh\nfalse\n```\n"
        "<!-- docs-test: run -->\n```sh\ntest -f pyproject.toml && grep -q one order.txt\n```\n"
    )
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    run_blocks(shell_blocks(page), scratch)
    assert (scratch / "order.txt").read_text() == "one\n"
    assert not (ROOT / "order.txt").exists()
