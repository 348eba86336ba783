"""The types of the app chart's values (app/chart_values.py): strings matching Kubernetes',
AWS's and Helm's grammars in full, each titled as the values table in app/chart/README.md
names it."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field


def _whole(title: str, body: str, *, optional: bool = False) -> Any:
    """A string named `title` (the README's type column) matching `body` in full, or
    empty when `optional`."""
    return Field(title=title, pattern=f"^({body}){'?' if optional else ''}$")


_DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
DNS_NAME_PATTERN = rf"{_DNS_LABEL}(\.{_DNS_LABEL})*"
_REGION = r"[a-z]{2}(-[a-z]+)+-[0-9]"
_SECRET_ARN = rf"arn:aws[a-z-]*:secretsmanager:{_REGION}:[0-9]{{12}}:secret.+"
_CIDR = r"[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}"
# Kubernetes' resource.Quantity grammar: 100m, 1.5, 512Mi, 1e3.
_QUANTITY = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?[0-9]+)?"

DnsLabel = Annotated[str, _whole("DNS label", _DNS_LABEL)]
OptionalDnsLabel = Annotated[str, _whole("DNS label", _DNS_LABEL, optional=True)]
OptionalDnsName = Annotated[str, _whole("DNS name", DNS_NAME_PATTERN, optional=True)]
Region = Annotated[str, _whole("AWS region", _REGION)]
SecretArn = Annotated[str, _whole("Secrets Manager ARN", _SECRET_ARN)]
OptionalSecretArn = Annotated[str, _whole("Secrets Manager ARN", _SECRET_ARN, optional=True)]
EnvironmentVariable = Annotated[str, _whole("variable name", r"[A-Z_][A-Z0-9_]*")]
AbsolutePath = Annotated[str, _whole("absolute path", r"/.*")]
UrlPath = Annotated[str, _whole("URL path", r"/[A-Za-z0-9/_.-]*")]
Word = Annotated[str, _whole("lower-case word", r"[a-z]+")]
# A Go duration, as Helm objects and the External Secrets Operator read it: 15s, 1h30m.
Duration = Annotated[str, _whole("duration", r"([0-9]+(ms|s|m|h))+")]
Quantity = Annotated[int | Annotated[str, Field(pattern=f"^{_QUANTITY}$")], Field(title="quantity")]
IntOrPercentage = Annotated[
    int | Annotated[str, Field(pattern=r"^[0-9]{1,3}%$")], Field(title="count or percentage")
]
Port = Annotated[int, Field(ge=1, le=65535)]
Count = Annotated[int, Field(ge=0)]
Seconds = Annotated[int, Field(ge=1)]
BucketName = Annotated[str, Field(pattern=r"^([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])?$")]
HttpsUrl = Annotated[str, Field(pattern=rf"^(https://{DNS_NAME_PATTERN}(/.*)?)?$")]
CloudFrontId = Annotated[str, Field(pattern=r"^[A-Za-z0-9-]*$")]
FileSystemId = Annotated[str, Field(pattern=r"^(fs-[0-9a-f]+)?$")]
AccessPointId = Annotated[str, Field(pattern=r"^(fsap-[0-9a-f]+)?$")]
SecurityGroupId = Annotated[str, Field(pattern=r"^(sg-[0-9a-f]+)?$")]
CidrList = Annotated[str, Field(pattern=rf"^{_CIDR}(,{_CIDR})*$")]
Digest = Annotated[str, Field(pattern=r"^([0-9a-f]{64})?$")]
