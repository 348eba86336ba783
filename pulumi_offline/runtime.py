"""Runs the real Pulumi program under Pulumi's mock runtime: no cloud, no CLI.

This is the engine of the offline preview (`python -m infra.preview`), of the
infrastructure tests and of the component examples (`examples/`). The mocks act like a
well-behaved provider: every resource gets a stable, unique id derived from its URN,
echoes its inputs as outputs, and gains the computed attributes programs commonly read
(`arn`, an autonamed `name`). Data sources
answer with fixed, plausible values. Stack references answer with the outputs of
another offline run.

Two sharp edges of the stock mock monitor are fixed here (docs/architecture.md, "Testing
without a cloud"):
resource references inside inputs are replaced by their URN before the mock sees them
(else they are rehydrated on the monitor's thread and hang), and resources are
recorded with their parent and provider so the tree can be printed and followed.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.protobuf import struct_pb2

from pulumi_offline import internals

ACCOUNT_ID = "123456789012"
# Pulumi.yaml disables these packages' default providers: like the engine, refuse them.
EXPLICIT_PROVIDER_PACKAGES = ("aws", "kubernetes")
ORGANIZATION = "organization"
SECRET = "[secret]"  # noqa: S105 (a placeholder, not a password)


@dataclass(frozen=True)
class RecordedResource:
    urn: str
    type: str
    name: str
    id: str
    parent: str | None
    provider: str | None
    inputs: dict[str, Any]  # as sent: camelCase, secrets shown as "[secret]"
    # The `protect` resource option (inherited from the parent, as the engine does).
    protect: bool = False
    # URNs this resource waits for (explicit `depends_on` and the resources its inputs
    # come from), as the engine receives them: the edges of the deployment's graph.
    dependencies: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "id": self.id,
            "parent": self.parent,
            "provider": self.provider,
            "inputs": self.inputs,
            "dependencies": self.dependencies,
        }


@dataclass
class OfflineRun:
    project: str
    stack: str
    resources: list[RecordedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_token: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str) -> RecordedResource:
        matches = [r for r in self.of_type(type_token) if r.name == name]
        if len(matches) != 1:
            raise LookupError(f"{len(matches)} {type_token} named {name!r}")
        return matches[0]

    def by_id(self, resource_id: str) -> RecordedResource:
        for resource in self.resources:
            if resource.id == resource_id:
                return resource
        raise LookupError(f"no resource with id {resource_id!r}")

    def by_urn(self, urn: str) -> RecordedResource:
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise LookupError(f"no resource with URN {urn!r}")

    def provider_of(self, resource: RecordedResource) -> RecordedResource:
        """The provider resource behind `resource` (its reference is `urn::id`)."""
        if not resource.provider:
            raise LookupError(f"{resource.name} uses the default provider")
        return self.by_urn(resource.provider.rsplit("::", 1)[0])


class OfflineMocks(pulumi.runtime.Mocks):
    def __init__(self, region: str, stack_outputs: Mapping[str, Mapping[str, Any]]) -> None:
        self.region = region
        self.stack_outputs = stack_outputs

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == "pulumi:pulumi:StackReference":
            return self._stack_reference(args.name)
        _require_explicit_provider(args.typ, args.provider, f"resource {args.name}")
        resource_id = args.resource_id or mock_id(args.typ, args.name)
        state = dict(args.inputs)
        if args.typ.startswith("aws:"):
            state.setdefault("arn", self._arn(args.typ, resource_id))
            state.setdefault("name", f"{args.name}-{resource_id[-7:]}")
        computed = COMPUTED_OUTPUTS.get(args.typ)
        if computed is not None:
            state.update(computed(args.name, resource_id, state, self.region))
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        answers: dict[str, Callable[[], dict[str, Any]]] = {
            "aws:index/getCallerIdentity:getCallerIdentity": lambda: {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/offline-preview",
                "userId": "AIDAOFFLINEPREVIEW",
            },
            "aws:index/getRegion:getRegion": lambda: {
                "name": self.region,
                "region": self.region,
                "endpoint": f"ec2.{self.region}.amazonaws.com",
            },
            "aws:index/getPartition:getPartition": lambda: {
                "partition": "aws",
                "dnsSuffix": "amazonaws.com",
            },
        }
        _require_explicit_provider(args.token, args.provider, "data source")
        answer = answers.get(args.token)
        if answer is None:
            raise LookupError(f"the offline runtime does not answer {args.token}")
        return answer()

    def _stack_reference(self, name: str) -> tuple[str, dict[str, Any]]:
        if name not in self.stack_outputs:
            known = ", ".join(sorted(self.stack_outputs)) or "none"
            raise LookupError(f"no offline outputs for stack {name!r} (known: {known})")
        return name, {
            "name": name,
            "outputs": dict(self.stack_outputs[name]),
            "secretOutputNames": [],
        }

    def _arn(self, type_token: str, resource_id: str) -> str:
        service = type_token.split(":")[1].split("/")[0]
        region = "" if service == "iam" else self.region
        return f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{resource_id}"


def fake_secret(name: str) -> str:
    """What a generated secret (RandomPassword `result`) resolves to offline; stable per
    resource so tests can look for it in outputs, where it must never appear."""
    return "offline-secret-" + hashlib.sha256(f"secret::{name}".encode()).hexdigest()[:24]


def _probable_prime(candidate: int, rounds: random.Random) -> bool:
    """Miller-Rabin; bases from the caller's seeded generator, so the answer is repeatable."""
    if candidate % 2 == 0:
        return candidate == 2
    odd, twos = candidate - 1, 0
    while odd % 2 == 0:
        odd, twos = odd // 2, twos + 1
    for _ in range(40):
        witness = pow(rounds.randrange(2, candidate - 1), odd, candidate)
        if witness in (1, candidate - 1):
            continue
        for _ in range(twos - 1):
            witness = pow(witness, 2, candidate)
            if witness == candidate - 1:
                break
        else:
            return False
    return True


_SMALL_PRIMES_PRODUCT = math.prod(
    n for n in range(3, 2000, 2) if all(n % d for d in range(3, n, 2))
)


def _seeded_prime(bits: int, stream: random.Random) -> int:
    while True:
        candidate = stream.getrandbits(bits) | (0b11 << (bits - 2)) | 1  # full length, odd
        if math.gcd(candidate, _SMALL_PRIMES_PRODUCT) != 1:  # cheap sieve before Miller-Rabin
            continue
        if math.gcd(candidate - 1, 65537) == 1 and _probable_prime(candidate, stream):
            return candidate


@functools.cache
def offline_key_pair(name: str, bits: int) -> dict[str, str]:
    """What a pulumi-tls RSA PrivateKey resolves to offline: a real key pair, so the public PEM
    is one CloudFront would take and tests can verify signatures with it. Derived from the
    resource's name (cryptography cannot seed its generator), so two previews of the same
    program agree and `--diff` shows no change. The private PEM is a secret output."""
    seed = hashlib.sha256(f"tls::{name}::{bits}".encode()).digest()
    stream = random.Random(seed)  # noqa: S311 (an offline stand-in, never a real key)
    p, q = _seeded_prime(bits // 2, stream), _seeded_prime(bits // 2, stream)
    public_exponent = 65537
    private_exponent = pow(public_exponent, -1, (p - 1) * (q - 1))
    key = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=private_exponent,
        dmp1=rsa.rsa_crt_dmp1(private_exponent, p),
        dmq1=rsa.rsa_crt_dmq1(private_exponent, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(public_exponent, p * q),
    ).private_key()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return {
        "algorithm": "RSA",
        "publicKeyPem": public_pem.decode(),
        "privateKeyPem": private_pem.decode(),
        "publicKeyFingerprintSha256": "SHA256:" + hashlib.sha256(public_pem).hexdigest(),
    }


_Computed = Callable[[str, str, Mapping[str, Any], str], dict[str, Any]]

# Attributes the provider computes that programs read, per resource type:
# (logical name, id, inputs with defaults, region) → extra outputs.
COMPUTED_OUTPUTS: dict[str, _Computed] = {
    "random:index/randomPassword:RandomPassword": lambda name, _id, _inputs, _region: {
        "result": fake_secret(name),
        "bcryptHash": fake_secret(f"{name}/bcrypt"),
    },
    "aws:s3/bucket:Bucket": lambda _name, id_, inputs, region: {
        "bucket": inputs.get("bucket", id_),
        "arn": f"arn:aws:s3:::{inputs.get('bucket', id_)}",
        "bucketDomainName": f"{inputs.get('bucket', id_)}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{inputs.get('bucket', id_)}.s3.{region}.amazonaws.com",
    },
    "aws:rds/cluster:Cluster": lambda _name, id_, inputs, region: {
        "endpoint": f"{inputs.get('clusterIdentifier', id_)}.cluster-x.{region}.rds.amazonaws.com",
        "readerEndpoint": (
            f"{inputs.get('clusterIdentifier', id_)}.cluster-ro-x.{region}.rds.amazonaws.com"
        ),
        "port": inputs.get("port", 5432),
        "masterUserSecrets": [
            {
                "secretArn": f"arn:aws:secretsmanager:{region}:{ACCOUNT_ID}:secret:rds!{id_}",
                "kmsKeyId": inputs.get("masterUserSecretKmsKeyId", ""),
                "secretStatus": "active",
            }
        ],
    },
    "aws:elasticache/replicationGroup:ReplicationGroup": lambda _name, id_, inputs, region: {
        "primaryEndpointAddress": f"master.{id_}.offline.use1.cache.amazonaws.com",
        "readerEndpointAddress": f"replica.{id_}.offline.use1.cache.amazonaws.com",
        "port": inputs.get("port", 6379),
    },
    "aws:efs/fileSystem:FileSystem": lambda _name, id_, _inputs, region: {
        "dnsName": f"{id_}.efs.{region}.amazonaws.com",
        "arn": f"arn:aws:elasticfilesystem:{region}:{ACCOUNT_ID}:file-system/{id_}",
    },
    # ARNs in AWS's own formats, so that IAM documents naming them lint as they would.
    "aws:efs/accessPoint:AccessPoint": lambda _name, id_, _inputs, region: {
        "arn": f"arn:aws:elasticfilesystem:{region}:{ACCOUNT_ID}:access-point/{id_}",
    },
    "aws:kms/key:Key": lambda _name, id_, _inputs, region: {
        "arn": f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/{id_}",
    },
    "aws:iam/role:Role": lambda _name, id_, _inputs, _region: {
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{id_}",
    },
    "aws:cloudwatch/logGroup:LogGroup": lambda name, _id, inputs, region: {
        "arn": f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{inputs.get('name', name)}",
    },
    "aws:secretsmanager/secret:Secret": lambda name, id_, inputs, region: {
        "arn": f"arn:aws:secretsmanager:{region}:{ACCOUNT_ID}:secret:"
        f"{inputs.get('name', name)}-{id_}",
    },
    "aws:cloudfront/distribution:Distribution": lambda _name, id_, _inputs, _region: {
        "arn": f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/{id_}",
        "domainName": f"{id_}.cloudfront.net",
        "hostedZoneId": "Z2FDTNDATAQYW2",  # CloudFront's, the same for every distribution
    },
    "tls:index/privateKey:PrivateKey": lambda name, _id, inputs, _region: offline_key_pair(
        name, int(inputs.get("rsaBits", 2048))
    ),
    "aws:ecr/repository:Repository": lambda _name, _id, inputs, region: {
        "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com/{inputs.get('name')}",
    },
    # pulumi_eks's Cluster is a remote component: one resource whose outputs are all
    # computed, so the ones programs read are answered here.
    "eks:index:Cluster": lambda name, id_, inputs, region: {
        "kubeconfigJson": json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": inputs.get("name", name),
                        "cluster": {
                            "server": (f"https://{id_.upper()}.gr7.{region}.eks.amazonaws.com"),
                            "certificate-authority-data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t",
                        },
                    }
                ],
            }
        ),
        "clusterSecurityGroupId": mock_id("aws:ec2/securityGroup:SecurityGroup", f"{name}-eks"),
        "oidcProviderArn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/oidc.eks.{region}"
        f".amazonaws.com/id/{id_.upper()}",
    },
    "aws:ec2/launchTemplate:LaunchTemplate": lambda _name, _id, _inputs, _region: {
        "latestVersion": 1,
    },
    "aws:sqs/queue:Queue": lambda _name, id_, inputs, region: {
        "arn": f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{inputs.get('name', id_)}",
        "url": f"https://sqs.{region}.amazonaws.com/{ACCOUNT_ID}/{inputs.get('name', id_)}",
    },
    "aws:acm/certificate:Certificate": lambda _name, id_, inputs, region: {
        "arn": f"arn:aws:acm:{region}:{ACCOUNT_ID}:certificate/{id_}",
        "domainValidationOptions": [
            {
                "domainName": domain,
                "resourceRecordName": f"_{id_[-12:]}.{domain}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": f"_{id_[-12:]}.validations.aws.",
            }
            for domain in [inputs.get("domainName"), *inputs.get("subjectAlternativeNames", [])]
        ],
    },
    "aws:acm/certificateValidation:CertificateValidation": lambda _n, _id, inputs, _r: {
        "certificateArn": inputs.get("certificateArn"),
    },
    "aws:route53/zone:Zone": lambda _name, id_, _inputs, _region: {
        "zoneId": "Z" + id_.rsplit("-", 1)[-1].upper(),
        "nameServers": [f"ns-{n}.awsdns-00.org" for n in range(4)],
    },
    "aws:route53/record:Record": lambda _name, _id, inputs, _region: {
        "fqdn": str(inputs.get("name", "")).rstrip("."),
    },
    "aws:wafv2/webAcl:WebAcl": lambda _name, id_, _inputs, region: {
        "arn": f"arn:aws:wafv2:{region}:{ACCOUNT_ID}:regional/webacl/{id_}",
    },
}


# AWS's own id prefixes, so ids pass the same patterns real ones do (CRD schemas check
# `sg-...`); other types use their lower-cased class name.
AWS_ID_PREFIXES = {
    "SecurityGroup": "sg",
    "InternetGateway": "igw",
    "NatGateway": "nat",
    "RouteTable": "rtb",
    "Eip": "eipalloc",
    "VpcEndpoint": "vpce",
    "LaunchTemplate": "lt",
    "FileSystem": "fs",
    "AccessPoint": "fsap",
}


def _require_explicit_provider(token: str, provider: str | None, what: str) -> None:
    package = token.split(":", 1)[0]
    if package in EXPLICIT_PROVIDER_PACKAGES and not provider:
        raise ValueError(
            f"{what} {token} uses the default {package} provider, which Pulumi.yaml disables"
        )


def mock_id(type_token: str, name: str) -> str:
    """A stable id, unique per resource: `<kind>-<hash>`, like AWS's `vpc-0a1b...`."""
    class_name = type_token.rsplit(":", 1)[-1]
    kind = AWS_ID_PREFIXES.get(class_name, class_name.lower())
    digest = hashlib.sha256(f"{type_token}::{name}".encode()).hexdigest()[:12]
    return f"{kind}-{digest}"


class OfflineMonitor(internals.MockMonitor):
    """The stock mock monitor, made safe for resource-reference inputs, and recording."""

    def __init__(self, mocks: OfflineMocks) -> None:
        super().__init__(mocks)
        self.recorded: list[RecordedResource] = []

    def RegisterResource(self, request: Any) -> Any:
        safe_request = type(request)()
        safe_request.CopyFrom(request)
        _replace_resource_references(safe_request.object)
        response = super().RegisterResource(safe_request)
        if request.type != "pulumi:pulumi:Stack":
            self._record(safe_request, safe_request.object, response.urn, response.id)
        return response

    def ReadResource(self, request: Any) -> Any:
        response = super().ReadResource(request)
        self._record(request, request.properties, response.urn, request.id or request.name)
        return response

    def _record(
        self, request: Any, properties: struct_pb2.Struct, urn: str, resource_id: str
    ) -> None:
        inputs = internals.deserialize_properties(properties)
        self.recorded.append(
            RecordedResource(
                urn=urn,
                type=request.type,
                name=request.name,
                id=resource_id,
                parent=request.parent or None,
                provider=request.provider or None,
                inputs=_as_sent(inputs),
                protect=bool(getattr(request, "protect", False)),
                dependencies=sorted(getattr(request, "dependencies", [])),
            )
        )


def _replace_resource_references(struct: struct_pb2.Struct) -> None:
    for key in list(struct.fields):
        _replace_in_value(struct.fields[key])


def _replace_in_value(value: struct_pb2.Value) -> None:
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        fields = value.struct_value.fields
        signature = fields.get(internals.SIG_KEY)
        if signature is not None and signature.string_value == internals.RESOURCE_SIG:
            value.string_value = fields["urn"].string_value
            return
        _replace_resource_references(value.struct_value)
    elif kind == "list_value":
        for item in value.list_value.values:
            _replace_in_value(item)


def _as_sent(value: Any) -> Any:
    """Inputs for display: secrets hidden, and whole numbers (protobuf doubles) as ints."""
    if isinstance(value, dict):
        if value.get(internals.SIG_KEY) == internals.SECRET_SIG:
            return SECRET
        return {key: _as_sent(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_sent(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def run_offline(
    *,
    project: str,
    stack: str,
    config: Mapping[str, str],
    program: Callable[[], None],
    region: str,
    secret_keys: list[str] | None = None,
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
) -> OfflineRun:
    """Runs `program` as stack `stack` with `config` (Pulumi's `ns:key` → string map).

    Safe to call many times in one process: the runtime is reset before each run.
    """
    mocks = OfflineMocks(region, stack_outputs or {})
    monitor = OfflineMonitor(mocks)
    internals.forget_root_stack()
    pulumi.runtime.set_all_config(dict(config), secret_keys or [])
    pulumi.runtime.set_mocks(
        mocks,
        project=project,
        stack=stack,
        preview=False,
        monitor=monitor,
        organization=ORGANIZATION,
    )
    internals.forget_pending_outputs()
    result = OfflineRun(project=project, stack=stack)

    async def resolve_exports() -> None:
        for name, value in internals.root_exports().items():
            output = pulumi.Output.from_input(value)
            secret = await output.is_secret()
            result.outputs[name] = SECRET if secret else await output.future()

    def run() -> None:
        program()
        internals.sync_await(resolve_exports())

    internals.run_program(run)
    internals.sync_await(_finish_stray_tasks())
    result.resources = list(monitor.recorded)
    return result


async def _finish_stray_tasks(timeout_seconds: float = 30) -> None:
    """Fails this run, not the next one, for an input that failed after the program ended.

    A resource whose input Output raises is registered by a task that outlives
    `run_pulumi_func`; left on the shared event loop, it would fail a later run."""
    current = asyncio.current_task()
    stray = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    if not stray:
        return
    done, pending = await asyncio.wait(stray, timeout=timeout_seconds)
    for task in pending:
        task.cancel()
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
