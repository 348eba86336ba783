"""What one API pod uses: each service's process under a stated request rate, its peak
resident memory and CPU seconds a request, next to a bare FastAPI process measured in the
same run, against the chart's requests.

    .venv/bin/python benchmarks/api_resources.py [--rate 20] [--seconds 20]

Starts its own PostgreSQL and Redis (``app.devservers``) and runs each service the way its
pod does (``uvicorn app.services.<name>.main:app``, one process), plus the yardstick of
``benchmarks/api.py`` (one PostgreSQL update and one Redis write a request). Each process
gets the same open-loop load: ``--rate`` requests a second, a realistic mix per service
(polls and listings outnumber writes). Linux only: it reads ``/proc/<pid>``.

CPU a request and peak RSS are what the API's requests in ``app/chart`` are sized from
(docs/decisions/0112-api-requests-from-measurements.md); the HPA's CPU target is a share
of the CPU request, so the last column says at what rate a pod reaches that target.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.devservers import local_services  # noqa: E402
from benchmarks.api import environment, prepare_bare_table, rich_users, serve, write_bench_model  # noqa: E402
from tools.cost.rules.context import cpu_cores, gibibytes  # noqa: E402

CHART = ROOT / "app" / "chart"
PROFILES = ("values.yaml", "values-dev.yaml", "values-prod.yaml", "values-ephemeral.yaml")
GENERATION = {"prompt": "a benchmark", "model": "bench-model", "width": 512, "height": 512}
# (method, path, body) with weights: what a client of each service sends.
Request = tuple[str, str, dict[str, object] | None]
MIX: dict[str, list[tuple[int, Request]]] = {
    "user": [(9, ("GET", "/api/users/me", None)), (1, ("POST", "/api/auth/dev-login", {}))],
    "payment": [(1, ("GET", "/api/payments/ledger", None))],
    "generation": [
        (1, ("POST", "/api/generations", GENERATION)),
        (6, ("GET", "/api/generations/{job}", None)),  # a client polls its job
        (3, ("GET", "/api/generations", None)),
    ],
    "gallery": [(1, ("GET", "/api/images", None))],
    "model": [(3, ("GET", "/api/models", None)), (1, ("GET", "/api/models/bench-model", None))],
}


@dataclass
class Measured:
    name: str
    requests: int = 0
    errors: int = 0
    cpu_seconds: float = 0.0
    peak_rss_mib: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / self.requests if self.requests else 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (/proc/<pid>/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    """The kernel's high-water mark of the process's resident memory (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


def schedule(mix: list[tuple[int, Request]]) -> list[Request]:
    """One round of the mix, its requests interleaved (weights as counts)."""
    rounds = [[request] * weight for weight, request in mix]
    ordered: list[Request] = []
    while any(rounds):
        for requests in rounds:
            if requests:
                ordered.append(requests.pop())
    return ordered


async def drive(
    measured: Measured,
    pid: int,
    base: str,
    requests: list[Request],
    users: list[dict[str, str]],
    rate: float,
    seconds: float,
    warmup: float,
) -> None:
    """Open loop: a request every 1/rate s whatever the answers take, CPU counted over
    the measured window only."""
    jobs: list[tuple[dict[str, str], str]] = []  # (its owner's headers, id)
    errors = 0
    async with httpx2.AsyncClient(base_url=base, timeout=30) as client:

        async def send(index: int, counted: bool) -> None:
            nonlocal errors
            method, path, body = requests[index % len(requests)]
            headers = users[index % len(users)]
            if "{job}" in path:
                if not jobs:
                    return
                headers, job = jobs[index % len(jobs)]
                path = path.format(job=job)
            if path == "/api/auth/dev-login":
                body = {"email": f"bench{index % len(users)}@example.com"}
            sent = time.perf_counter()
            try:
                response = await client.request(method, path, headers=headers, json=body)
                ok = response.status_code < 400
            except httpx2.HTTPError:
                ok = False
            if ok and method == "POST" and path == "/api/generations":
                jobs.append((headers, response.json()["id"]))
            if counted:
                if ok:
                    measured.latencies.append(time.perf_counter() - sent)
                else:
                    errors += 1

        start = time.perf_counter()
        tasks: list[asyncio.Task[None]] = []
        cpu_before = None
        index = 0
        while (now := time.perf_counter() - start) < warmup + seconds:
            counted = now >= warmup
            if counted and cpu_before is None:
                cpu_before = cpu_seconds(pid)
            tasks.append(asyncio.create_task(send(index, counted)))
            index += 1
            await asyncio.sleep(max(0.0, index / rate - (time.perf_counter() - start)))
        await asyncio.gather(*tasks)
    measured.cpu_seconds += cpu_seconds(pid) - (cpu_before or 0.0)
    measured.requests += len(measured.latencies)
    measured.errors += errors
    measured.peak_rss_mib = max(measured.peak_rss_mib, peak_rss_mib(pid))


def chart_requests() -> dict[str, tuple[float, float, int]]:
    """Per values file: the API's CPU request (cores), memory request (MiB) and the HPA's
    CPU target (%), each falling back to the chart's defaults."""
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())["api"]
    result = {}
    for name in PROFILES:
        api = (yaml.safe_load((CHART / name).read_text()) or {}).get("api") or {}
        requests = {
            **defaults["resources"]["requests"],
            **api.get("resources", {}).get("requests", {}),
        }
        target = {**defaults["autoscaling"], **api.get("autoscaling", {})}
        result[name] = (
            cpu_cores(requests["cpu"]),
            gibibytes(requests["memory"]) * 1024,
            int(target["targetCPUUtilizationPercentage"]),
        )
    return result


def report(results: list[Measured], bare: Measured, rate: float, seconds: float) -> None:
    print(
        f"{platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs), "
        f"{time.strftime('%Y-%m-%d')}: {rate:g} requests/s for {seconds:g} s a process"
    )
    print(
        f"{'process':<12} {'req':>5} {'err':>4} {'p50 ms':>7} {'CPU ms/req':>11} "
        f"{'peak RSS MiB':>13} {'x bare CPU':>11} {'x bare RSS':>11}"
    )
    for measured in [*results, bare]:
        p50 = statistics.median(measured.latencies) * 1000 if measured.latencies else 0.0
        print(
            f"{measured.name:<12} {measured.requests:>5} {measured.errors:>4} {p50:>7.1f} "
            f"{measured.cpu_ms_per_request:>11.2f} {measured.peak_rss_mib:>13.0f} "
            f"{measured.cpu_ms_per_request / bare.cpu_ms_per_request:>11.2f} "
            f"{measured.peak_rss_mib / bare.peak_rss_mib:>11.2f}"
        )
    heaviest_cpu = max(m.cpu_ms_per_request for m in results) / 1000
    heaviest_rss = max(m.peak_rss_mib for m in results)
    print(
        f"\nworst service: {heaviest_cpu * 1000:.2f} CPU ms a request, {heaviest_rss:.0f} MiB peak"
    )
    print(
        f"{'chart values':<24} {'CPU req':>8} {'mem req':>8} {'RSS share':>10} "
        f"{'req/s at the HPA target':>24}"
    )
    for name, (cpu, memory, target) in chart_requests().items():
        at_target = cpu * target / 100 / heaviest_cpu
        print(
            f"{name:<24} {cpu * 1000:>7.0f}m {memory:>6.0f}Mi {heaviest_rss / memory:>10.0%} "
            f"{at_target:>24.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=20.0, help="requests a second a process")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--users", type=int, default=8)
    args = parser.parse_args()

    results = [Measured(name) for name in MIX]
    bare = Measured("bare")
    with local_services() as (database, redis_server), tempfile.TemporaryDirectory() as models:
        write_bench_model(Path(models))
        prepare_bare_table(database, args.users)
        env = environment(database, redis_server.url, models)
        servers = {name: serve([f"app.services.{name}.main:app"], env) for name in MIX}
        servers["bare"] = serve(
            ["--factory", "benchmarks.api:bare_app"],
            {
                "BENCH_DATABASE_URL": database.server.url("postgres", database.name),
                "BENCH_REDIS_URL": redis_server.url,
            },
        )
        try:
            users = rich_users(servers["user"][1], database, args.users)
            # One process at a time, so they do not share the CPUs they are measured on.
            for measured in results:
                process, base = servers[measured.name]
                requests = schedule(MIX[measured.name])
                asyncio.run(
                    drive(
                        measured,
                        process.pid,
                        base,
                        requests,
                        users,
                        args.rate,
                        args.seconds,
                        args.warmup,
                    )
                )
            process, base = servers["bare"]
            bare_requests: list[Request] = [
                ("POST", f"/bare/{slot}", None) for slot in range(args.users)
            ]
            asyncio.run(
                drive(
                    bare,
                    process.pid,
                    base,
                    bare_requests,
                    [{}],
                    args.rate,
                    args.seconds,
                    args.warmup,
                )
            )
        finally:
            for process, _ in servers.values():
                process.terminate()
                process.wait(timeout=10)
    report(results, bare, args.rate, args.seconds)


if __name__ == "__main__":
    main()
