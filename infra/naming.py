"""Resource names: the one place that decides them.

Every name is `pingvas-<stack>-<thing>`. Names that must be unique across all of AWS
(S3 buckets) also carry a short, stable suffix derived from the account and region, so
two accounts deploying the same stack never collide and a redeploy keeps its names.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from infra.config import PROJECT

_THING = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
S3_BUCKET_MAX_LENGTH = 63


@dataclass(frozen=True)
class Naming:
    stack: str
    project: str = PROJECT

    @property
    def prefix(self) -> str:
        return f"{self.project}-{self.stack}"

    def name(self, thing: str) -> str:
        if not _THING.match(thing):
            raise ValueError(f"{thing!r} is not a lower-case, dash-separated name")
        return f"{self.prefix}-{thing}"

    def hostname(self, service: str, domain: str, *, apex: bool) -> str:
        """`<service>.<domain>` for the stack that owns the apex hostnames (its kind's
        `apex_hosts`), `<service>.<stack>.<domain>` for every other stack."""
        return f"{service}.{domain}" if apex else f"{service}.{self.stack}.{domain}"

    def globally_unique(self, thing: str, account_id: str, region: str) -> str:
        """A name for resources whose namespace is all of AWS, such as S3 buckets."""
        suffix = hashlib.sha256(f"{account_id}/{region}".encode()).hexdigest()[:8]
        name = f"{self.name(thing)}-{suffix}"
        if len(name) > S3_BUCKET_MAX_LENGTH:
            raise ValueError(f"{name!r} is longer than {S3_BUCKET_MAX_LENGTH} characters")
        return name
