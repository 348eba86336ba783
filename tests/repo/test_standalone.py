"""The repository stands alone: nothing it holds sends a reader, a test or a build to a
file outside it, and every relative link in its docs resolves."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Documents that live beside the repository, not in it, and paths that reach them.
OUTSIDE = re.compile(
    r"\.\./shared/|/work/|\b(SPEC|DESIGN|PULUMI_TESTING|TOOLING_NOTES)\.md\b|shared/crds"
)
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def tracked(*patterns: str) -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", *patterns],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    return [ROOT / name for name in names if name and (ROOT / name).is_file()]


def test_nothing_reaches_outside_the_repository() -> None:
    this_file = Path(__file__).resolve()
    offenders = []
    for path in tracked():
        if path.resolve() == this_file or path.suffix in {".png", ".ico"}:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert offenders == []


@pytest.mark.parametrize("document", tracked("*.md"), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(document: Path) -> None:
    for target in LINK.findall(document.read_text()):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (document.parent / target).exists(), f"{target} (from {document.name})"


def test_the_architecture_page_has_every_spec_section_code_cites() -> None:
    cited = set()
    for path in tracked("*.py", "*.md", "*.yaml"):
        cited |= {int(n) for n in re.findall(r"SPEC §(\d+)", path.read_text())}
    page = (ROOT / "docs/architecture.md").read_text()
    present = {int(n) for n in re.findall(r"^- \*\*§(\d+) ", page, re.MULTILINE)}
    assert cited <= present
    assert present == set(range(1, 12))
