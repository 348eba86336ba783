"""What each cost lever saves at SPEC §8's usage, measured with the estimator.

    python -m tools.cost.levers

Starts from SPEC's configuration (shared + dev + prod), applies the levers our defaults
take one after the other (ending at the committed defaults), then prices each lever the
defaults do not take, or take from SPEC already, against the defaults. The targets they
are held to: `python -m tools.cost.targets`. docs/cost.md quotes this output.
"""

from __future__ import annotations

import copy
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from infra.merge import deep_merge
from tools.cost import prices, usage
from tools.cost.__main__ import preview_document
from tools.cost.estimate import Estimate, estimate
from tools.cost.prices import SPOT_BUDGET_RATIO
from tools.cost.report import money
from tools.preview import as_json, preview_stack, stack_file

STACKS = ("shared", "dev", "prod")
Overrides = Mapping[str, Mapping[str, Any]]  # stack -> config keys deep-merged in
# A lever fixed in components or the chart, not in config, undone in the preview documents.
Undo = Callable[[list[dict[str, Any]]], None]

SPEC_REDIS = {
    "dev": {"mode": "standalone", "engine": "redis", "nodeType": "cache.t4g.medium"},
    "prod": {"mode": "replicated", "engine": "redis", "nodeType": "cache.r6g.large", "replicas": 2},
}
# SPEC's x86 general pool (the defaults add Graviton: decision 0116).
X86_GENERAL_POOL = {"generalNodePool": {"architectures": ["amd64"]}}
SPEC_CONFIGURATION: Overrides = {
    "shared": {"pingvas:cluster": {"gpuNodePool": {"rootVolumeGi": 200}, **X86_GENERAL_POOL}},
    "dev": {"pingvas:redis": SPEC_REDIS["dev"], "pingvas:services": {"replicas": 5}},
    "prod": {"pingvas:redis": SPEC_REDIS["prod"], "pingvas:services": {"replicas": 10}},
}
NO_FREE_TIER = {"account": {"cloudfrontFreeTierGb": 0, "cloudfrontFreeTierRequestsMillions": 0}}


def _resources(documents: list[dict[str, Any]], type_token: str) -> list[dict[str, Any]]:
    return [r for d in documents for r in d["resources"] if r["type"] == type_token]


def standard_logs(documents: list[dict[str, Any]]) -> None:
    """Every log group in the Standard class (before decision 0114)."""
    for group in _resources(documents, "aws:cloudwatch/logGroup:LogGroup"):
        group["inputs"].pop("logGroupClass", None)


def reader_follows_writer(documents: list[dict[str, Any]]) -> None:
    """Aurora's readers in promotion tier 1, at the writer's capacity (before 0113)."""
    for instance in _resources(documents, "aws:rds/clusterInstance:ClusterInstance"):
        if instance["inputs"].get("promotionTier", 1) > 1:
            instance["inputs"]["promotionTier"] = 1


# The API's requests before decision 0112 (the chart's guess, not a measurement).
GUESSED_API_REQUESTS = {"dev": {"cpu": "250m", "memory": "256Mi"}}
GUESSED_API_REQUESTS["prod"] = {"cpu": "250m", "memory": "384Mi"}


def guessed_api_requests(documents: list[dict[str, Any]]) -> None:
    for document in documents:
        requests = GUESSED_API_REQUESTS.get(document["stack"])
        for release in _resources([document], "kubernetes:helm.sh/v3:Release"):
            api = (release["inputs"].get("values") or {}).get("api")
            if requests and api is not None:
                api.setdefault("resources", {})["requests"] = dict(requests)


EVERY_UNDO: tuple[Undo, ...] = (reader_follows_writer, standard_logs, guessed_api_requests)


# Levers the defaults take, in order, each as what is still SPEC's after it.
# Node-based Valkey right-sized (decision 0100): the caches every step before 0117 has.
NODE_CACHES: Overrides = {
    "dev": {"pingvas:redis": {"mode": "standalone", "nodeType": "cache.t4g.small"}},
    "prod": {
        "pingvas:redis": {"mode": "replicated", "nodeType": "cache.t4g.medium", "replicas": 1}
    },
}


def on_node_caches(overrides: Overrides) -> Overrides:
    """`overrides` over NODE_CACHES: a step's own cache keys win."""
    stacks = sorted({*NODE_CACHES, *overrides})
    return {s: deep_merge(NODE_CACHES.get(s, {}), overrides.get(s, {})) for s in stacks}


VALKEY = {
    "shared": SPEC_CONFIGURATION["shared"],
    "dev": {**SPEC_CONFIGURATION["dev"], "pingvas:redis": {"nodeType": "cache.t4g.medium"}},
    "prod": {
        **SPEC_CONFIGURATION["prod"],
        "pingvas:redis": {"nodeType": "cache.r6g.large", "replicas": 2},
    },
}
PROD_CACHE = {**VALKEY, "prod": {"pingvas:services": {"replicas": 10}}}
DEV_CACHE = {**PROD_CACHE, "dev": {"pingvas:services": {"replicas": 5}}}
REPLICAS = {"shared": SPEC_CONFIGURATION["shared"]}
# (lever, what is still SPEC's after it, usage overrides, the decision record that takes
# it: every departure from SPEC has one, tests/tools/test_cost_budget.py; the levers not
# in config still undone after it).
TAKEN: list[tuple[str, Overrides, Mapping[str, Any], str | None, tuple[Undo, ...]]] = [
    (
        "SPEC §3/§8 configuration, sourced prices, 730 h",
        on_node_caches(SPEC_CONFIGURATION),
        NO_FREE_TIER,
        None,
        EVERY_UNDO,
    ),
    (
        "Valkey instead of Redis OSS (same nodes, -20 % a node)",
        on_node_caches(VALKEY),
        NO_FREE_TIER,
        "0100",
        EVERY_UNDO,
    ),
    (
        "prod cache right-sized: t4g.medium primary + 1 replica",
        on_node_caches(PROD_CACHE),
        NO_FREE_TIER,
        "0100",
        EVERY_UNDO,
    ),
    (
        "dev cache right-sized: t4g.small",
        on_node_caches(DEV_CACHE),
        NO_FREE_TIER,
        "0100",
        EVERY_UNDO,
    ),
    (
        "API replicas: dev 1, prod 3 (HPA to 15)",
        on_node_caches(REPLICAS),
        NO_FREE_TIER,
        "0101",
        EVERY_UNDO,
    ),
    (
        "GPU images on the instance store's NVMe: 20 GiB roots",
        on_node_caches({"shared": {"pingvas:cluster": X86_GENERAL_POOL}}),
        NO_FREE_TIER,
        "0104",
        EVERY_UNDO,
    ),
    (
        "Graviton general pool: c7g.large alongside c6i.large",
        NODE_CACHES,
        NO_FREE_TIER,
        "0116",
        EVERY_UNDO,
    ),
    (
        "API requests from measurements: 100m / 224Mi",
        NODE_CACHES,
        NO_FREE_TIER,
        "0112",
        (reader_follows_writer, standard_logs),
    ),
    (
        "Aurora reader in promotion tier 2 (its own load)",
        NODE_CACHES,
        NO_FREE_TIER,
        "0113",
        (standard_logs,),
    ),
    ("Logs Infrequent Access: flow, WAF, Aurora", NODE_CACHES, NO_FREE_TIER, "0114", ()),
    ("CloudFront's always-free tier (1 TB, 10 M requests)", NODE_CACHES, {}, "0103", ()),
    ("Serverless Valkey caches for dev and prod (Multi-AZ)", {}, {}, "0117", ()),
]
LOG_RETENTION_7_DAYS: Overrides = {
    "shared": {
        "pingvas:network": {"flowLogs": {"retentionDays": 7}},
        "pingvas:cluster": {"logRetentionDays": 7},
        "pingvas:aurora": {"logRetentionDays": 7},
        "pingvas:edge": {"waf": {"logRetentionDays": 7}},
    }
}
NO_LIFECYCLE: Overrides = {
    "dev": {"pingvas:images": {"iaAfterDays": None}},
    "prod": {"pingvas:images": {"iaAfterDays": None, "archiveAfterDays": None}},
}


def documents(overrides: Overrides, undo: tuple[Undo, ...] = ()) -> list[dict[str, Any]]:
    result = []
    with tempfile.TemporaryDirectory() as folder:
        for stack in STACKS:
            if stack not in overrides:
                result.append(preview_document(stack))
                continue
            committed = yaml.safe_load(stack_file(stack).read_text())["config"]
            config = deep_merge(committed, overrides[stack])
            path = Path(folder, f"Pulumi.{stack}.yaml")
            path.write_text(yaml.safe_dump({"config": config}))
            result.append(as_json(preview_stack(stack, path)))
    if undo:
        result = copy.deepcopy(result)  # previews may share their inputs with a cache
    for step in undo:
        step(result)
    return result


def priced(
    overrides: Overrides, usage_overrides: Mapping[str, Any], undo: tuple[Undo, ...] = ()
) -> Estimate:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as usage_file:
        usage_file.write(yaml.safe_dump(dict(usage_overrides)))
        usage_file.flush()
        loaded = usage.load(Path(usage_file.name))
    return estimate(documents(overrides, undo), loaded, prices.load(), preview_document)


def main() -> int:
    print("Levers the defaults take (shared + dev + prod at SPEC §8's usage), in order:")
    previous = None
    for name, overrides, usage_overrides, _, undo in TAKEN:
        total = priced(overrides, usage_overrides, undo).total
        saving = "" if previous is None else f"  saves {money(previous - total)}"
        print(f"  {name:<58} {money(total):>11}{saving}")
        previous = total
    defaults = priced({}, {})
    print(f"  {'the committed defaults':<58} {money(defaults.total):>11}")
    print("\nOther levers, against the defaults:")
    others: list[tuple[str, float]] = [
        ("S3 lifecycle (SPEC §4; already taken)", priced(NO_LIFECYCLE, {}).total - defaults.total),
        (
            "log retention 30 -> 7 days (flow, EKS, Aurora, WAF)",
            defaults.total - priced(LOG_RETENTION_7_DAYS, {}).total,
        ),
        (
            "Spot general pool (already taken) vs on-demand",
            sum(line.monthly for line in defaults.lines if "general pool" in line.item)
            * (1 / SPOT_BUDGET_RATIO - 1),
        ),
        (
            "Spot GPU nodes (already taken) vs all on-demand",
            priced({}, {"platform": {"gpuOnDemandShare": 1}}).total - defaults.total,
        ),
        (
            "one ALB for dev and previews (not taken: decision 0115)",
            # Dev's ALB-hours and public IPv4 addresses; its LCUs would move to the shared
            # ALB with its traffic. The platform makes each environment's class: dev's is
            # `<platform>-dev-alb-params`.
            sum(
                line.monthly
                for line in defaults.lines
                if line.type.endswith("IngressClassParams")
                and "-dev-alb" in line.resource
                and "LCU" not in line.item
            ),
        ),
    ]
    for name, amount in others:
        print(f"  {name:<58} saves {money(amount)}")
    discount = prices.load().get("savings-plans/database-serverless-discount").price
    acus = sum(
        line.monthly for line in defaults.lines if line.service == "RDS" and "ACU" in line.item
    )
    print("\nA purchase, not a default:")
    name = "1-year Database Savings Plan (Aurora Serverless v2 ACUs)"
    print(f"  {name:<58} saves up to {money(acus * discount)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
