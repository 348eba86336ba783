"""AWS's own limits on the values the program sends, from AWS's own data where it exists.

botocore ships every service's API model (lengths, patterns, ranges) and the partitions'
regions; where a limit lives only in a parameter's documentation, the figure is read
from that documentation text, so a botocore upgrade that changes it changes the check.
What no model holds (VPC sizes, zone letters, engine versions, cron syntax) is copied by
hand below, each with its source. Every check raises `ValueError` with what AWS would
refuse and what to type instead; the config models name the key.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from ipaddress import IPv4Network
from typing import Any

from botocore.loaders import Loader

_LOADER = Loader()


@cache
def _shape(service: str, name: str) -> dict[str, Any]:
    return dict(_LOADER.load_service_model(service, "service-2")["shapes"][name])


def documented(service: str, shape: str, member: str, figure: str) -> int:
    """A number stated in a parameter's documentation (`figure` has one group)."""
    text = _shape(service, shape)["members"][member]["documentation"]
    found = re.search(figure, text)
    if found is None:  # botocore reworded it: the check must be re-read, not guessed
        raise LookupError(f"botocore's {service} {shape}.{member} no longer says {figure!r}")
    return int(found[1])


# --- partitions and zones --------------------------------------------------------------

PARTITIONS: dict[str, str] = {
    region: partition["partition"]
    for partition in _LOADER.load_data("endpoints")["partitions"]
    for region in partition["regions"]
}
# The edge puts CloudFront's certificate in us-east-1, which only the commercial
# partition has; GovCloud and China have no CloudFront in the same form.
SUPPORTED_PARTITION = "aws"


def partition_problem(region: str) -> str | None:
    partition = PARTITIONS.get(region)
    if partition is None or partition == SUPPORTED_PARTITION:
        return None
    return (
        f"{region!r} is in the {partition} partition; the stacks run in the commercial "
        f"partition ({SUPPORTED_PARTITION}: CloudFront and its us-east-1 certificate), "
        "so choose a region such as us-east-1 or eu-west-1"
    )


# The last zone letter of each region, over all accounts (an account's letters map to
# zones of its own, and a few regions skip a letter). Source: docs.aws.amazon.com/
# global-infrastructure/latest/regions/aws-availability-zones.html (read 2026-11).
# A region not listed has the three zones, a to c, every region opens with.
LAST_ZONE_LETTER = {
    "us-east-1": "f",
    "us-west-1": "c",
    "us-west-2": "d",
    "ap-northeast-1": "d",
    "ap-northeast-2": "d",
    "ca-central-1": "d",
}


def zone_problem(region: str, zone: str) -> str | None:
    last = LAST_ZONE_LETTER.get(region, "c")
    letter = zone.removeprefix(region)
    if zone.startswith(region) and len(letter) == 1 and "a" <= letter <= last:
        return None
    zones = f"{region}a to {region}{last}"
    return f"{zone!r} is not an availability zone of {region} (aws:region): it has {zones}"


# --- networks --------------------------------------------------------------------------

# A VPC's and a subnet's IPv4 block: /16 to /28 (docs.aws.amazon.com/vpc/latest/
# userguide/vpc-cidr-blocks.html, subnet-sizing.html).
WIDEST_BLOCK, NARROWEST_BLOCK = 16, 28


def check_block_size(network: IPv4Network) -> IPv4Network:
    if not WIDEST_BLOCK <= network.prefixlen <= NARROWEST_BLOCK:
        raise ValueError(
            f"{network} is a /{network.prefixlen}; AWS allows a VPC or subnet from "
            f"/{WIDEST_BLOCK} to /{NARROWEST_BLOCK}"
        )
    return network


# --- names -----------------------------------------------------------------------------

# A hostname as ACM accepts it (its DomainNameString shape: 253 characters, labels of 63).
_DOMAIN = _shape("acm", "DomainNameString")
DOMAIN_PATTERN = re.compile(rf"^(?:{_DOMAIN['pattern']})$")
DOMAIN_MAX = int(_DOMAIN["max"])
# The certificate's first name is its Common Name (RFC 5280): ACM's documentation of
# RequestCertificate.DomainName caps it.
CERTIFICATE_NAME_MAX = documented(
    "acm", "RequestCertificateRequest", "DomainName", r"cannot exceed (\d+) octets"
)


def hostname_problem(hostname: str, certificate: bool) -> str | None:
    """Why AWS refuses `hostname` (a certificate's first name when `certificate`)."""
    if len(hostname) > DOMAIN_MAX or not DOMAIN_PATTERN.match(hostname):
        return (
            f"{hostname!r} is not a DNS name AWS accepts (at most {DOMAIN_MAX} characters, "
            "labels of 63)"
        )
    if certificate and len(hostname) > CERTIFICATE_NAME_MAX:
        return (
            f"{hostname!r} ({len(hostname)} characters) is past ACM's {CERTIFICATE_NAME_MAX} "
            "for a certificate's name"
        )
    return None


# Tags, as the Resource Groups Tagging model allows them (the common pattern of AWS's
# tagging APIs), `\p{..}` Unicode classes read as Python's Unicode categories.
_TAG_VALUE = _shape("resource-groups", "TagValue")
TAG_VALUE_MAX = int(_TAG_VALUE["max"])
_CLASSES = re.fullmatch(r"\^\(\[((?:\\p\{[A-Z]\})+)(.*)\]\*\)\$", _TAG_VALUE["pattern"])
assert _CLASSES is not None, "botocore's tag pattern changed shape"
TAG_CATEGORIES = tuple(re.findall(r"\\p\{([A-Z])\}", _CLASSES[1]))
TAG_PUNCTUATION = _CLASSES[2].replace("\\", "")


def check_tag_value(value: str) -> str:
    refused = sorted(
        {
            char
            for char in value
            if unicodedata.category(char)[0] not in TAG_CATEGORIES and char not in TAG_PUNCTUATION
        }
    )
    if refused or len(value) > TAG_VALUE_MAX:
        raise ValueError(
            f"{value!r} becomes a tag value, which AWS limits to {TAG_VALUE_MAX} letters, "
            f"digits, spaces and {TAG_PUNCTUATION!r}"
            + (f" (refused: {''.join(refused)!r})" if refused else "")
        )
    return value
