"""Re-fetches the vendored CRDs (vendor/crds/) from the upstream commits their README pins,
and checks each file against the git blob recorded there.

    python -m tools.generate.crds            # download every file, verify, write
    python -m tools.generate.crds --check    # verify the files on disk only (offline)

vendor/crds/README.md is the one record: per directory a `- Source: <repository>, tag
**<tag>** (commit `<sha>`, ...), path `<path>`` line and a table of files with their
blobs. To move a CRD to a new release, edit that line (tag, commit) and run this script,
then update the table's bytes and blob columns from its output; keep the tags in step
with components/chart_versions.py (tests/repo/test_vendored_crds.py checks both).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CRDS = ROOT / "vendor" / "crds"
SOURCE = re.compile(
    r"^- Source: https://github\.com/(?P<repository>[\w.-]+/[\w.-]+), tag \*\*(?P<tag>[^*]+)\*\* "
    r"\(commit `(?P<commit>[0-9a-f]{40})`[^)]*\), path `(?P<path>[^`]+)`",
    re.MULTILINE,
)
ROW = re.compile(
    r"^\| (?P<file>[\w.-]+\.yaml) \| (?P<bytes>\d+) \| (?P<blob>[0-9a-f]{7,40}) \|", re.M
)


@dataclass(frozen=True)
class VendoredFile:
    directory: str
    name: str
    size: int
    blob: str  # the recorded blob id (a prefix of the full sha1)
    repository: str
    tag: str
    commit: str
    path: str

    @property
    def local(self) -> Path:
        return CRDS / self.directory / self.name

    @property
    def url(self) -> str:
        return (
            f"https://raw.githubusercontent.com/{self.repository}/{self.commit}/"
            f"{self.path.rstrip('/')}/{self.name}"
        )


def git_blob_id(data: bytes) -> str:
    """What `git hash-object` prints for a file with these bytes."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def recorded(readme: Path = CRDS / "README.md") -> list[VendoredFile]:
    """Every file the README records, with its source, from its `## <directory>/` section."""
    files = []
    for section in re.split(r"^## ", readme.read_text(), flags=re.MULTILINE)[1:]:
        directory = section.split("/", 1)[0].strip()
        source = SOURCE.search(section)
        if source is None:
            raise ValueError(f"vendor/crds/README.md: section {directory}/ has no Source line")
        for row in ROW.finditer(section):
            files.append(
                VendoredFile(
                    directory,
                    row["file"],
                    int(row["bytes"]),
                    row["blob"],
                    source["repository"],
                    source["tag"],
                    source["commit"],
                    source["path"],
                )
            )
    return files


def problems(vendored: VendoredFile, data: bytes) -> list[str]:
    found = []
    if not git_blob_id(data).startswith(vendored.blob):
        found.append(f"blob {git_blob_id(data)[:8]}, README records {vendored.blob}")
    if len(data) != vendored.size:
        found.append(f"{len(data)} bytes, README records {vendored.size}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.generate.crds", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--check", action="store_true", help="verify the files on disk only")
    args = parser.parse_args(argv)
    failed = False
    for vendored in recorded():
        if args.check:
            data = vendored.local.read_bytes()
        else:
            with urllib.request.urlopen(vendored.url, timeout=60) as response:  # noqa: S310 (https)
                data = response.read()
        found = problems(vendored, data)
        where = f"{vendored.directory}/{vendored.name} ({vendored.repository}@{vendored.tag})"
        if found:
            failed = True
            print(f"{where}: {'; '.join(found)}", file=sys.stderr)
            continue
        if not args.check:
            vendored.local.parent.mkdir(parents=True, exist_ok=True)
            vendored.local.write_bytes(data)
        print(f"{where}: ok, blob {git_blob_id(data)[:8]}, {len(data)} bytes")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
