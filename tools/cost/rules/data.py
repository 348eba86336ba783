"""Data and secrets: Aurora, ElastiCache, EFS, S3 (split by lifecycle), ECR, CloudWatch
Logs and alarms, AWS Backup, Secrets Manager and KMS."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tools.cost.lines import Line
from tools.cost.prices import DAYS_PER_MONTH, HOURS_PER_MONTH
from tools.cost.rules.context import (
    Context,
    Resource,
    as_priced,
    monthly_bounds,
)

STORAGE_CLASS_PRICES = {
    "STANDARD": "s3/standard-storage",
    "STANDARD_IA": "s3/standard-ia-storage",
    "GLACIER_IR": "s3/glacier-instant-retrieval-storage",
    "GLACIER": "s3/glacier-flexible-retrieval-storage",
    "INTELLIGENT_TIERING": "s3/intelligent-tiering-frequent-storage",
    "INTELLIGENT_TIERING_INFREQUENT": "s3/intelligent-tiering-infrequent-storage",
    "INTELLIGENT_TIERING_ARCHIVE_INSTANT": "s3/intelligent-tiering-archive-instant-storage",
}
# Intelligent-Tiering's automatic tiers (days without access), priced like lifecycle
# transitions: objects written once and read rarely (models synced to EFS) age through them.
INTELLIGENT_TIERS = (
    (30.0, "INTELLIGENT_TIERING_INFREQUENT"),
    (90.0, "INTELLIGENT_TIERING_ARCHIVE_INSTANT"),
)
CACHE_ENGINES = {"redis": "redis-oss", "valkey": "valkey"}


# Aurora Serverless v2 readers in promotion tiers 0-1 hold at least the writer's capacity;
# readers in tiers 2-15 scale on their own load. RDS defaults an instance to tier 1.
# https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.how-it-works.html#aurora-serverless-v2.how-it-works.scaling
FOLLOWS_THE_WRITER_TIERS = (0, 1)
DEFAULT_PROMOTION_TIER = 1


def aurora_instance(resource: Resource, context: Context) -> list[Line]:
    inputs = resource["inputs"]
    if inputs.get("instanceClass") != "db.serverless":
        raise LookupError(f"instance class {inputs.get('instanceClass')} is not in the table")
    low, high = _capacity_range(resource, context)
    load, whose = _load(resource, context)
    price = context.prices.get("aurora-postgresql/serverless-v2-acu-hour")
    return [
        context.charge(
            resource,
            "RDS",
            "Serverless v2 ACU-hours",
            acu_average(resource, context),
            price,
            f"{as_priced(load, acu_average(resource, context))} ACU on average, {whose} load, "
            f"promotion tier {_promotion_tier(resource)} ({low:g}-{high:g} configured)",
            bounds=monthly_bounds(low, high, price.price * HOURS_PER_MONTH),
        )
    ]


def acu_average(resource: Resource, context: Context) -> float:
    """The ACUs an Aurora Serverless v2 instance averages: its load within the cluster's
    capacity range."""
    low, high = _capacity_range(resource, context)
    return min(max(_load(resource, context)[0], low), high)


def _capacity_range(resource: Resource, context: Context) -> tuple[float, float]:
    cluster = context.by_id(resource["inputs"]["clusterIdentifier"])
    scaling = (cluster or {}).get("inputs", {}).get("serverlessv2ScalingConfiguration", {})
    return float(scaling.get("minCapacity", 0.5)), float(scaling.get("maxCapacity", 256))


def _load(resource: Resource, context: Context) -> tuple[float, str]:
    """The usage an instance scales on, and whose it is."""
    usage = context.usage.platform
    if _is_writer(resource, context) or _promotion_tier(resource) in FOLLOWS_THE_WRITER_TIERS:
        return usage.aurora_acu_average, "the writer's"
    return usage.aurora_reader_acu_average, "its own (a reader in tier 2-15)"


def _promotion_tier(resource: Resource) -> int:
    tier = resource["inputs"].get("promotionTier")
    return DEFAULT_PROMOTION_TIER if tier is None else int(tier)


def _is_writer(resource: Resource, context: Context) -> bool:
    """The cluster's first instance in its lowest tier: the one created first becomes the
    writer (components/data/aurora.py) and failover keeps to the lowest tier."""
    siblings = [
        r
        for r in context.of_type(resource["type"])
        if r["inputs"].get("clusterIdentifier") == resource["inputs"].get("clusterIdentifier")
    ]
    return min(siblings, key=_promotion_tier) is resource


def aurora_cluster(resource: Resource, context: Context) -> list[Line]:
    usage = context.usage.platform
    storage = context.prices.get("aurora/storage-standard")
    io = context.prices.get("aurora/io-requests-standard")
    lines = [
        context.charge(
            resource,
            "RDS",
            "cluster storage",
            usage.aurora_storage_gb,
            storage,
            f"{usage.aurora_storage_gb:g} GB (backups within the free 1x cluster size)",
        ),
        context.charge(
            resource, "RDS", "I/O requests", usage.aurora_io_millions, io, "standard configuration"
        ),
    ]
    if resource["inputs"].get("manageMasterUserPassword"):
        secret = context.prices.get("secretsmanager/secret")
        lines.append(
            context.charge(
                resource, "Secrets Manager", "RDS-managed master secret", 1, secret, "one secret"
            )
        )
    return lines


def cache_group(resource: Resource, context: Context) -> list[Line]:
    inputs = resource["inputs"]
    engine = CACHE_ENGINES.get(inputs.get("engine", "redis"), inputs.get("engine", "?"))
    nodes = inputs.get("numCacheClusters") or (
        (1 + inputs.get("replicasPerNodeGroup", 0)) * inputs.get("numNodeGroups", 1)
    )
    price = context.prices.get(f"elasticache/{engine}/{inputs['nodeType']}")
    failover = (
        "automatic failover, Multi-AZ" if inputs.get("automaticFailoverEnabled") else "single node"
    )
    return [
        context.charge(
            resource,
            "ElastiCache",
            f"{engine} {inputs['nodeType']} node-hours",
            nodes,
            price,
            f"{nodes} nodes ({failover}); snapshots within the free one per cluster",
        )
    ]


# Valkey Serverless bills at least 100 MB of data stored
# (https://aws.amazon.com/elasticache/pricing/; the table's valkey-serverless-storage source).
SERVERLESS_MINIMUM_GB = 0.1
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600


def serverless_cache(resource: Resource, context: Context) -> list[Line]:
    """Data stored (the usage's, at the minimum) and ECPUs (the environment's share of the
    platform's images, plus its background traffic); bounded by the cache's usage limits."""
    inputs = resource["inputs"]
    if inputs.get("engine") != "valkey":
        raise LookupError(f"serverless {inputs.get('engine')} is not in the table")
    environment = context.usage.environment(context.stack)
    platform = context.usage.platform
    limits = inputs.get("cacheUsageLimits") or {}
    max_gb = float((limits.get("dataStorage") or {}).get("maximum", 5_000))
    max_ecpus = float(((limits.get("ecpuPerSeconds") or [{}])[0]).get("maximum", 15_000_000))
    stored = min(max(environment.cache_data_gb, SERVERLESS_MINIMUM_GB), max_gb)
    images = environment.cache_images_share * sum(w.per_month for w in platform.images)
    asked = environment.cache_background_ecpus_millions + (
        images * platform.cache_ecpus_per_image / 1e6
    )
    most = max_ecpus * SECONDS_PER_MONTH / 1e6  # the limit throttles the rest
    millions = min(asked, most)
    storage = context.prices.get("elasticache/valkey-serverless-storage")
    ecpu = context.prices.get("elasticache/valkey-serverless-ecpu")
    return [
        context.charge(
            resource,
            "ElastiCache",
            "Serverless Valkey data stored (GB-hours)",
            stored,
            storage,
            f"{as_priced(environment.cache_data_gb, stored)} GB (100 MB minimum); "
            "snapshots within the free one a day",
            bounds=monthly_bounds(SERVERLESS_MINIMUM_GB, max_gb, storage.price * HOURS_PER_MONTH),
        ),
        context.charge(
            resource,
            "ElastiCache",
            "Serverless Valkey ECPUs (millions)",
            millions,
            ecpu,
            f"{as_priced(asked, millions)} M: {images:,.0f} images x "
            f"{platform.cache_ecpus_per_image:g} ECPUs + "
            f"{environment.cache_background_ecpus_millions:g} M in the background",
            bounds=(0.0, round(most * ecpu.price, 2)),
        ),
    ]


def file_system(resource: Resource, context: Context) -> list[Line]:
    """Models split by the file system's lifecycle: what is read within the IA window stays
    Standard, the rest moves to Infrequent Access (and back on its first read)."""
    usage = context.usage.platform
    policies = resource["inputs"].get("lifecyclePolicies") or []
    to_ia = next((p["transitionToIa"] for p in policies if p.get("transitionToIa")), None)
    cold = usage.efs_models_gb * (1 - usage.efs_active_share) if to_ia else 0.0
    hot = usage.efs_models_gb - cold
    window = f"read within {to_ia.lower().replace('_', ' ')}" if to_ia else "no IA lifecycle"
    charges = (
        ("Standard storage", hot, "efs/standard-storage", f"{hot:g} GB {window}"),
        ("Infrequent Access storage", cold, "efs/infrequent-access-storage", f"{cold:g} GB"),
        ("Elastic throughput reads", usage.efs_read_gb, "efs/elastic-throughput-read", ""),
        ("Elastic throughput writes", usage.efs_write_gb, "efs/elastic-throughput-write", ""),
    )
    return [
        context.charge(resource, "EFS", item, amount, key, why or f"{amount:g} GB")
        for item, amount, key, why in charges
    ]


def bucket(resource: Resource, context: Context) -> list[Line]:
    role = context.role(resource)
    if role == "images":
        environment = context.usage.environment(context.stack)
        stored, months = environment.images_gb, environment.images_accrual_months
    else:
        stored, months = context.usage.platform.buckets_gb.get(role, 0.0), 12.0
    lifecycle = next(
        (
            rules
            for rules in context.of_type(
                "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
            )
            if rules["inputs"]["bucket"] == resource["id"]
        ),
        None,
    )
    shares = storage_class_shares(lifecycle["inputs"]["rules"] if lifecycle else [], months)
    if "INTELLIGENT_TIERING" in shares:
        shares = _intelligent_tiers(shares, months)
    return [
        context.charge(
            resource,
            "S3",
            f"{storage_class} storage",
            stored * share,
            STORAGE_CLASS_PRICES[storage_class],
            f"{share:.0%} of {stored:g} GB accrued evenly over {months:g} months, by lifecycle"
            + (" and days without access" if storage_class.startswith("INTELLIGENT") else ""),
        )
        for storage_class, share in shares.items()
    ]


def _intelligent_tiers(shares: dict[str, float], months: float) -> dict[str, float]:
    """Intelligent-Tiering's share split into its access tiers, for objects not read again
    after they are written, accrued evenly over `months`."""
    tiering = shares.pop("INTELLIGENT_TIERING")
    rules = [
        {
            "status": "Enabled",
            "transitions": [
                {"days": days, "storageClass": tier} for days, tier in INTELLIGENT_TIERS
            ],
        }
    ]
    for tier, share in storage_class_shares(rules, months).items():
        name = "INTELLIGENT_TIERING" if tier == "STANDARD" else tier
        shares[name] = shares.get(name, 0.0) + share * tiering
    return shares


def storage_class_shares(rules: Iterable[Mapping[str, Any]], months: float) -> dict[str, float]:
    """How much of a bucket sits in each storage class when objects accrue evenly over
    `months`, given its lifecycle rules (transitions and expiry of the whole bucket)."""
    span = months * DAYS_PER_MONTH
    transitions: list[tuple[float, str]] = [(0.0, "STANDARD")]
    for rule in rules:
        if rule.get("status") != "Enabled" or (rule.get("filter") or {}).get("prefix"):
            continue
        for transition in rule.get("transitions") or []:
            transitions.append((float(transition["days"]), transition["storageClass"]))
        expiration = (rule.get("expiration") or {}).get("days")
        if expiration:
            span = min(span, float(expiration))
    # On a tie, the later class wins: a day-0 transition replaces STANDARD from the start.
    transitions.sort(key=lambda transition: (transition[0], transition[1] != "STANDARD"))
    shares: dict[str, float] = {}
    for index, (start, storage_class) in enumerate(transitions):
        end = transitions[index + 1][0] if index + 1 < len(transitions) else span
        share = max(0.0, min(end, span) - min(start, span)) / span
        if share > 0:
            shares[storage_class] = shares.get(storage_class, 0.0) + share
    return shares


def repository(resource: Resource, context: Context) -> list[Line]:
    repositories = len(context.of_type(resource["type"]))
    stored = context.usage.platform.ecr_gb / repositories
    price = context.prices.get("ecr/storage")
    return [context.charge(resource, "ECR", "image storage", stored, price, f"{stored:g} GB")]


def log_group(resource: Resource, context: Context) -> list[Line]:
    usage = context.usage.platform
    ingested = usage.logs_ingested_gb.get(context.role(resource), usage.logs_ingested_gb_default)
    retention = resource["inputs"].get("retentionInDays")
    kept_days = min(float(retention), 365.0) if retention else 365.0
    stored = ingested * kept_days / DAYS_PER_MONTH * usage.logs_compression_ratio
    infrequent = resource["inputs"].get("logGroupClass") == "INFREQUENT_ACCESS"
    ingestion = "cloudwatch/logs-ingestion" + ("-infrequent-access" if infrequent else "")
    return [
        context.charge(
            resource,
            "CloudWatch",
            "logs ingested",
            ingested,
            ingestion,
            f"{ingested:g} GB a month",
        ),
        context.charge(
            resource,
            "CloudWatch",
            "logs stored",
            stored,
            "cloudwatch/logs-storage",
            f"{retention or 'never-expiring (a year counted)'} days retained, "
            f"compressed to {usage.logs_compression_ratio:.0%}",
        ),
    ]


def metric_alarm(resource: Resource, context: Context) -> list[Line]:
    metrics = len(resource["inputs"].get("metricQueries") or []) or 1
    return [
        context.charge(
            resource,
            "CloudWatch",
            "alarm metrics (standard resolution)",
            metrics,
            "cloudwatch/alarm-standard-resolution",
            f"{metrics} metric(s)",
        )
    ]


def backup_plan(resource: Resource, context: Context) -> list[Line]:
    """EFS recovery points in warm storage: a full copy, then what changed, kept as long
    as the plan's longest rule keeps them."""
    usage = context.usage.platform
    kept = max(
        float((r.get("lifecycle") or {}).get("deleteAfter") or 365)
        for r in resource["inputs"]["rules"]
    )
    changed = usage.efs_write_gb * min(kept, 365.0) / DAYS_PER_MONTH
    stored = usage.efs_models_gb + changed
    return [
        context.charge(
            resource,
            "AWS Backup",
            "EFS warm backup storage",
            stored,
            "backup/efs-warm-storage",
            f"{usage.efs_models_gb:g} GB full copy + {changed:.3g} GB changed, kept {kept:g} days",
        )
    ]


def secret(resource: Resource, context: Context) -> list[Line]:
    price = context.prices.get("secretsmanager/secret")
    return [context.charge(resource, "Secrets Manager", "secret", 1, price, "one secret")]


def kms_key(resource: Resource, context: Context) -> list[Line]:
    price = context.prices.get("kms/customer-managed-key")
    lines = [context.charge(resource, "KMS", "customer-managed key", 1, price, "one key")]
    if resource["inputs"].get("enableKeyRotation"):
        versions = context.usage.platform.kms_rotations_retained
        lines.append(
            context.charge(
                resource,
                "KMS",
                "rotated key versions",
                versions,
                "kms/key-rotation",
                f"yearly rotation: {versions} retained versions charged (the first two are)",
            )
        )
    return lines
