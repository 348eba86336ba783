"""The bytes each image's Python dependency layer takes to pull, from PyPI: for every
distribution the lock pins (requirements/app.txt for the API image, requirements/worker.txt
for the worker, plus the nvidia-* wheels torch's manylinux wheel requires on Linux), the
wheel the image's `pip install --only-binary=:all:` picks (CPython 3.12, manylinux x86_64),
its download size (PyPI's `size`) and its unpacked size (the wheel's zip central directory,
read with HTTP range requests: no wheel is downloaded whole). Written to
`tools/image_sizes.json`, which tools/rollout.yaml's image figures quote (a test holds them
equal and the pins equal to the lock's).

    python -m tools.generate.image_sizes      # needs https://pypi.org; never run by the tests

A wheel is deflate-compressed like an image layer's gzip, so its download size stands for
the layer's transfer size; its unpacked size is what the node writes.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import re
import sys
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parents[2]
SIZES_FILE = ROOT / "tools" / "image_sizes.json"
LOCKS = {"api": ROOT / "requirements/app.txt", "worker": ROOT / "requirements/worker.txt"}
INDEX = "https://pypi.org/pypi/{name}/json"
FILES = "https://files.pythonhosted.org/packages/"
# Both images run CPython 3.12 on x86_64 nodes; glibc 2.36 (bookworm) bounds manylinux.
PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(36, 4, -1)] + [
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
]
TAGS: list[Tag] = [
    *cpython_tags((3, 12), abis=["cp312"], platforms=PLATFORMS),
    *compatible_tags((3, 12), "cp312", platforms=PLATFORMS),
]
# torch's wheel metadata names its CUDA wheels under this marker environment.
LINUX = {
    "platform_system": "Linux",
    "sys_platform": "linux",
    "platform_machine": "x86_64",
    "python_version": "3.12",
    "python_full_version": "3.12.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "os_name": "posix",
    "extra": "",
}


def pins(lock: Path) -> dict[str, str]:
    """name → version of every `name==version` line of a pip-compile lock."""
    found = re.findall(r"^([A-Za-z0-9._-]+)==([^\s;]+)", lock.read_text(), re.MULTILINE)
    return {str(canonicalize_name(name)): version for name, version in found}


class _RangeReader:
    """A seekable file over HTTP range requests: zipfile reads only the central directory."""

    def __init__(self, url: str, size: int) -> None:
        self.url, self.size, self.position = url, size, 0

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = base + offset
        return self.position

    def read(self, n: int = -1) -> bytes:
        end = self.size if n < 0 else min(self.size, self.position + n)
        if end <= self.position:
            return b""
        request = urllib.request.Request(  # noqa: S310 (PyPI's https addresses)
            self.url, headers={"Range": f"bytes={self.position}-{end - 1}"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (https)
            data: bytes = response.read()
        self.position += len(data)
        return data


def _wheel(name: str, wanted: SpecifierSet) -> dict[str, Any]:
    """The newest release `wanted` admits that has a wheel for the images (pip's choice)."""
    with urllib.request.urlopen(INDEX.format(name=name), timeout=60) as response:  # noqa: S310
        releases = json.load(response)["releases"]
    rank = {tag: i for i, tag in enumerate(TAGS)}

    def best(filename: str) -> int:
        tags = parse_wheel_filename(filename)[3]
        return min((rank[tag] for tag in tags if tag in rank), default=len(rank))

    candidates = [
        (Version(version), file)
        for version, files in releases.items()
        if _valid(version) and wanted.contains(version)  # pre-releases only when pinned
        for file in files
        if file["filename"].endswith(".whl") and best(file["filename"]) < len(rank)
    ]
    if not candidates:
        raise LookupError(f"{name}{wanted}: no CPython 3.12 x86_64 Linux wheel on PyPI")
    version, chosen = max(candidates, key=lambda c: (c[0], -best(c[1]["filename"])))
    # A PyPI mirror may answer with addresses relative to the index: record PyPI's own.
    url = FILES + chosen["url"].split("/packages/")[-1]
    with zipfile.ZipFile(_RangeReader(url, chosen["size"])) as z:
        unpacked = sum(info.file_size for info in z.infolist())
        metadata = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        requires = [
            Requirement(line.split(":", 1)[1].strip())
            for line in z.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:")
        ]
    return {
        "name": name,
        "version": str(version),
        "url": url,
        "downloadBytes": chosen["size"],
        "unpackedBytes": unpacked,
        "requires": requires,
    }


def _valid(version: str) -> bool:
    try:
        Version(version)
    except InvalidVersion:  # legacy releases pip ignores too
        return False
    return True


def _applies(requirement: Requirement, extras: set[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({**LINUX, "extra": e}) for e in extras or {""})


def _layer(lock: Path) -> list[dict[str, Any]]:
    """The lock's pins and what they require on Linux that the lock leaves out: pip-compile
    ran elsewhere and drops platform-only wheels (torch's CUDA ones) and setuptools. Like
    pip, a distribution satisfies every requirement on it at once."""
    pinned = pins(lock)
    wanted = {name: SpecifierSet(f"=={version}") for name, version in pinned.items()}
    extras: dict[str, set[str]] = {name: set() for name in pinned}
    wheels: dict[str, tuple[dict[str, Any], frozenset[str]]] = {}
    stale = set(wanted)
    while stale:
        name = stale.pop()
        wheel = _wheel(name, wanted[name])
        wheels[name] = (wheel, frozenset(extras[name]))
        for requirement in wheel["requires"]:
            key = str(canonicalize_name(requirement.name))
            if key in pinned or not _applies(requirement, extras[name]):
                continue
            wanted[key] = wanted.get(key, SpecifierSet()) & requirement.specifier
            extras[key] = extras.get(key, set()) | set(requirement.extras)
            held = wheels.get(key)
            if (
                held is None
                or not wanted[key].contains(held[0]["version"], prereleases=True)
                or held[1] != extras[key]
            ):
                stale.add(key)
    return sorted(
        ({k: v for k, v in wheel.items() if k != "requires"} for wheel, _ in wheels.values()),
        key=lambda wheel: wheel["name"],
    )


def generate() -> dict[str, Any]:
    images = {}
    for image, lock in LOCKS.items():
        wheels = _layer(lock)
        images[image] = {
            "lock": str(lock.relative_to(ROOT)),
            "downloadBytes": sum(w["downloadBytes"] for w in wheels),
            "unpackedBytes": sum(w["unpackedBytes"] for w in wheels),
            "wheels": wheels,
        }
    return {
        "generatedBy": "python -m tools.generate.image_sizes",
        "generatedOn": datetime.date.today().isoformat(),
        "index": INDEX,
        "images": images,
    }


def main(argv: list[str] | None = None) -> int:
    # No options; parsing still answers --help and refuses a typo before the network.
    argparse.ArgumentParser(
        prog="python -m tools.generate.image_sizes", description=__doc__
    ).parse_args(argv)
    SIZES_FILE.write_text(json.dumps(generate(), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
