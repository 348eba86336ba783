"""The config library's foundations: the project's constants, the error every
validation problem becomes, and the pydantic base every config section extends."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from infra.config.messages import described

PROJECT = "pingvas"
DEFAULT_REGION = "us-east-1"

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557}
    | {2922, 3288, 3653}
)
# A Kubernetes resource quantity such as `50Gi` or `512Mi`.
K8S_MEMORY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")


def one_of(allowed: frozenset[int], what: str) -> AfterValidator:
    """A validator accepting only the values AWS offers, listing them when refusing."""

    def check(value: int) -> int:
        if value not in allowed:
            offered = ", ".join(str(choice) for choice in sorted(allowed))
            raise ValueError(f"{value} is not {what} ({offered})")
        return value

    return AfterValidator(check)


LogRetentionDays = Annotated[int, one_of(LOG_RETENTION_DAYS, "a CloudWatch Logs retention period")]


class ConfigError(Exception):
    """Invalid stack configuration; the message names every offending key."""


class Role(StrEnum):
    PLATFORM = "platform"
    ENVIRONMENT = "environment"


class ConfigModel(BaseModel):
    """Config keys are camelCase in Pulumi.<stack>.yaml; unknown keys are errors."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True
    )


ModelT = TypeVar("ModelT", bound=ConfigModel)

# Maintenance and backup windows, as AWS writes them.
DAILY_WINDOW = described(
    r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$",
    "a daily window hh:mm-hh:mm in UTC, such as 03:00-04:00",
)
DAY = r"(mon|tue|wed|thu|fri|sat|sun)"
WEEKLY_WINDOW = described(
    rf"^{DAY}:([01][0-9]|2[0-3]):[0-5][0-9]-{DAY}:([01][0-9]|2[0-3]):[0-5][0-9]$",
    "a weekly window ddd:hh:mm-ddd:hh:mm in UTC, such as sun:04:30-sun:05:30",
)


class StackSettings(ConfigModel):
    """Keys of every stack. Each top-level key's description also goes into Pulumi.yaml
    (tools/generate/config_schema.py)."""

    role: Role | None = Field(
        default=None,
        description="platform or environment; from the name for shared, dev, prod, pr-<N>",
    )
    # Its characters are checked where its secrecy is known (infra/config/loading.py).
    cost_center: str = Field(default="pingvas", min_length=1, description="the cost-center tag")
