"""AWS's rules for time: maintenance and backup windows, schedule expressions, and the
engine versions a cluster may run (with what each can do).

Window lengths come from botocore's documentation of the RDS and ElastiCache
parameters (read at import, like infra/aws_limits.py); cron syntax and engine versions
are copied from AWS's documentation, linked at each table.
"""

from __future__ import annotations

import re

from infra.aws_limits import documented

MINUTES_PER_DAY, MINUTES_PER_WEEK = 24 * 60, 7 * 24 * 60
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

RDS_BACKUP_WINDOW_MIN = documented(
    "rds", "CreateDBClusterMessage", "PreferredBackupWindow", r"at least (\d+) minutes"
)
RDS_MAINTENANCE_WINDOW_MIN = documented(
    "rds", "CreateDBClusterMessage", "PreferredMaintenanceWindow", r"at least (\d+) minutes"
)
CACHE_MAINTENANCE_WINDOW_MIN = documented(
    "elasticache",
    "CreateReplicationGroupMessage",
    "PreferredMaintenanceWindow",
    r"minimum maintenance window is a (\d+) minute",
)

Interval = tuple[int, int]  # minutes from Monday 00:00, end after start


def _clock(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def daily(window: str) -> Interval:
    """`03:00-04:00` as minutes from midnight; a window may run past midnight."""
    start, end = (_clock(part) for part in window.split("-"))
    return start, end if end > start else end + MINUTES_PER_DAY


def weekly(window: str) -> Interval:
    """`sun:04:30-sun:05:30` as minutes from Monday 00:00; it may run into next week."""
    start, end = (
        DAYS.index(part[:3]) * MINUTES_PER_DAY + _clock(part[4:]) for part in window.split("-")
    )
    return start, end if end > start else end + MINUTES_PER_WEEK


def length_problem(interval: Interval, minimum: int, what: str) -> str | None:
    length = interval[1] - interval[0]
    if length < minimum:
        return f"is {length} minutes; AWS needs {what} of at least {minimum}"
    return None


def overlap(daily_window: str, weekly_window: str) -> bool:
    """Whether a window that recurs daily meets a weekly one."""
    start, end = weekly(weekly_window)
    day_start, day_end = daily(daily_window)
    for day in range(-1, 8):  # a daily window each day, and the week's wrap either side
        offset = day * MINUTES_PER_DAY
        if day_start + offset < end and start < day_end + offset:
            return True
    return False


# --- schedule expressions --------------------------------------------------------------

# AWS's six-field cron (docs.aws.amazon.com/eventbridge/latest/userguide/
# eb-scheduled-rule-pattern.html#eb-cron-expressions), which AWS Backup takes too:
# minutes hours day-of-month month day-of-week year; day-of-month or day-of-week is `?`.
_MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
_WEEKDAYS = "SUN|MON|TUE|WED|THU|FRI|SAT"
_CRON_FIELDS: tuple[tuple[str, int, int, str], ...] = (
    ("minutes", 0, 59, ""),
    ("hours", 0, 23, ""),
    ("day-of-month", 1, 31, "L|W|[0-9]+W|\\?"),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 1, 7, f"{_WEEKDAYS}|L|[1-7]L|[1-7]#[1-5]|\\?"),
    ("year", 1970, 2199, ""),
)


def _field_problem(text: str, name: str, low: int, high: int, words: str) -> str | None:
    special = re.compile(rf"^({words})$") if words else None
    for part in text.split(","):
        if part == "*" or (special is not None and special.match(part)):
            continue
        base, _, step = part.partition("/")
        if step and not (step.isdigit() and int(step) >= 1):
            return f"{name} step {step!r} is not a whole number"
        ends = ["*"] if base == "*" else base.split("-")
        for end in ends:
            if end == "*" or (special is not None and special.match(end) and "?" not in end):
                continue
            if not end.isdigit() or not low <= int(end) <= high:
                return f"{name} {end!r} is not {low}-{high}" + (
                    f" or {words.replace('|', ', ')}" if words else ""
                )
    return None


def cron_problem(expression: str, *, hourly_at_most: bool) -> str | None:
    """Why AWS refuses `cron(...)`; `hourly_at_most` for AWS Backup, which starts a job
    at most once an hour (docs.aws.amazon.com/aws-backup/latest/devguide/
    creating-a-backup-plan.html)."""
    inner = re.fullmatch(r"cron\((.*)\)", expression)
    if inner is None:
        return "is not cron(minutes hours day-of-month month day-of-week year)"
    fields = inner[1].split()
    if len(fields) != len(_CRON_FIELDS):
        return (
            f"has {len(fields)} fields; AWS's cron has six "
            "(minutes hours day-of-month month day-of-week year)"
        )
    for text, (name, low, high, words) in zip(fields, _CRON_FIELDS, strict=True):
        problem = _field_problem(text.upper(), name, low, high, words)
        if problem is not None:
            return problem
    if (fields[2] == "?") == (fields[4] == "?"):
        return "needs `?` in exactly one of day-of-month and day-of-week"
    if hourly_at_most and not fields[0].isdigit():
        return (
            f"runs more than once an hour (minutes {fields[0]!r}); AWS Backup allows hourly at most"
        )
    return None


# --- engine versions -------------------------------------------------------------------

# Aurora PostgreSQL minor versions that run Serverless v2, first and latest per major,
# and the first that can auto-pause (a minimum of 0 ACUs). Sources: docs.aws.amazon.com/
# AmazonRDS/latest/AuroraUserGuide/Concepts.Aurora_Fea_Regions_DB-eng.Feature.
# ServerlessV2.html and aurora-serverless-v2-auto-pause.html; releases at docs.aws.amazon.
# com/AmazonRDS/latest/AuroraPostgreSQLReleaseNotes (read 2026-11). Add a row's minor
# once AWS releases it.
AURORA_POSTGRESQL: dict[int, tuple[int, int, int]] = {
    # major: (first with Serverless v2, latest released, first that auto-pauses)
    13: (6, 21, 15),
    14: (3, 18, 12),
    15: (2, 13, 7),
    16: (1, 9, 3),
    17: (4, 5, 4),
}


def aurora_version_problem(version: str, pauses: bool) -> str | None:
    major_text, _, minor_text = version.partition(".")
    row = AURORA_POSTGRESQL.get(int(major_text)) if major_text.isdigit() else None
    known = ", ".join(
        f"{major}.{first}-{major}.{last}" for major, (first, last, _) in AURORA_POSTGRESQL.items()
    )
    if row is None or not minor_text.isdigit() or not row[0] <= int(minor_text) <= row[1]:
        return f"{version} is not an Aurora PostgreSQL version with Serverless v2 ({known})"
    if pauses and int(minor_text) < row[2]:
        return (
            f"{version} cannot auto-pause (minCapacity 0); it needs {major_text}.{row[2]} or later"
        )
    return None


# ElastiCache engine versions (docs.aws.amazon.com/AmazonElastiCache/latest/dg/
# supported-engine-versions.html, read 2026-11); older Redis lacks the TLS and AUTH the
# stacks use.
CACHE_ENGINE_VERSIONS = {"redis": ("6.2", "7.0", "7.1"), "valkey": ("7.2", "8.0", "8.1")}


def cache_version_problem(engine: str, version: str) -> str | None:
    offered = CACHE_ENGINE_VERSIONS[engine]
    if version not in offered:
        return f"{engine} {version} is not offered by ElastiCache ({', '.join(offered)})"
    return None
