"""Usage the estimator cannot read from a preview: averages, GB stored, GB sent.

`usage.yaml` beside this module holds the defaults (SPEC §8's assumptions); a usage file
given with `--usage` overrides them key by key. Unknown keys and negative amounts are
refused with a message naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from infra.config import Profile, profile_by_name
from infra.merge import deep_merge

DEFAULTS = Path(__file__).with_name("usage.yaml")

Amount = Field(ge=0)


class UsageError(Exception):
    """An invalid usage file; the message names every offending key."""


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True
    )


class Workload(_Model):
    """Images a month of one model at one size and step count."""

    model: str
    size: int = Field(gt=0)
    steps: int = Field(gt=0)
    per_month: float = Amount


class GuardDutyUsage(_Model):
    cloudtrail_events_millions: float = Amount
    flow_dns_logs_gb: float = Amount
    eks_audit_events_millions: float = Amount
    s3_data_events_millions: float = Amount
    ebs_scanned_gb: float = Amount
    runtime_vcpus_average: float = Amount


class PlatformUsage(_Model):
    images: list[Workload]
    gpu_setting: str  # a setting of gpu_throughput.yaml: what the worker runs
    gpu_batch: int = Field(ge=1)
    gpu_utilisation: float = Field(gt=0, le=1)
    gpu_scale_ups_per_day: float = Amount
    gpu_cold_start_seconds: float = Amount
    gpu_on_demand_share: float = Field(ge=0, le=1)
    aurora_acu_average: float = Amount
    aurora_reader_acu_average: float = Amount
    aurora_storage_gb: float = Amount
    aurora_io_millions: float = Amount
    efs_models_gb: float = Amount
    efs_active_share: float = Field(ge=0, le=1)
    efs_read_gb: float = Amount
    efs_write_gb: float = Amount
    ecr_gb: float = Amount
    nat_processed_gb: float = Amount
    inter_az_gb: float = Amount
    waf_requests_millions: float = Amount
    dns_queries_millions: float = Amount
    logs_ingested_gb: dict[str, float]
    logs_ingested_gb_default: float = Amount
    logs_compression_ratio: float = Field(gt=0, le=1)
    guard_duty: GuardDutyUsage
    kms_rotations_retained: int = Field(ge=0, le=2)
    buckets_gb: dict[str, float]
    general_pool_instance_type: dict[str, str]
    general_pool_packing: float = Field(gt=0, le=1)
    cache_ecpus_per_image: float = Amount


class AccountUsage(_Model):
    cloudfront_free_tier_gb: float = Amount
    cloudfront_free_tier_requests_millions: float = Amount
    cloudwatch_free_alarm_metrics: float = Amount


class EnvironmentUsage(_Model):
    images_gb: float = Amount
    images_accrual_months: float = Field(gt=0)
    cdn_out_gb: float = Amount
    cdn_requests_millions: float = Amount
    alb_lcu_average: float = Amount
    # None: the configured replicas (the HPA's minimum).
    api_replicas_average: float | None = Field(default=None, ge=0)
    # ElastiCache Serverless: data stored on average, the share of the platform's images
    # this environment queues, and the ECPUs it spends whatever the traffic.
    cache_data_gb: float = Amount
    cache_images_share: float = Field(ge=0, le=1)
    cache_background_ecpus_millions: float = Amount


class Usage(_Model):
    platform: PlatformUsage
    account: AccountUsage
    environments: dict[str, EnvironmentUsage]

    def environment(self, stack: str) -> EnvironmentUsage:
        """A stack's own entry, else `ephemeral` for pr-<N>, else dev's."""
        if stack in self.environments:
            return self.environments[stack]
        fallback = "ephemeral" if profile_by_name(stack) is Profile.EPHEMERAL else "dev"
        return self.environments[fallback]


def load(override: Path | None = None) -> Usage:
    values: dict[str, Any] = yaml.safe_load(DEFAULTS.read_text())
    if override is not None:
        try:
            extra = yaml.safe_load(override.read_text()) or {}
        except (OSError, yaml.YAMLError) as error:
            raise UsageError(f"{override}: {error}") from None
        if not isinstance(extra, Mapping):
            raise UsageError(f"{override}: expected a mapping like {DEFAULTS.name}")
        values = deep_merge(values, extra)
    try:
        return Usage.model_validate(values)
    except ValidationError as error:
        raise UsageError(
            "\n".join(
                f"usage {'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
                for problem in error.errors()
            )
        ) from None
