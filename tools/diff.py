"""Offline diff: what `pulumi preview --diff` would show, from two offline previews.

    python -m tools.preview STACK... --diff BASE.json [--json | --markdown] [--expect-no-changes]

BASE is an earlier `--json` output (one stack's document or a list of them, e.g. of the
target branch). Resources are matched by URN: `+` create, `-` delete, `~` update with each
changed input path (old → new), `+-` replace when a changed input is one the provider
cannot update in place (`REPLACED_BY`). Secret inputs stay `[secret]` on both sides: the
offline preview never holds their values, so a change of a secret's value shows only where
Pulumi would show it too, as a change of the secret's wrapper.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pulumi_offline import SECRET

# Inputs that force a replacement, for every provider resource type the program creates:
# the provider's `forceNew` / `replaceOnChanges` properties that we set. A path matches a
# changed input at that path or below it; "*" means any input (the resource has no update).
# An empty tuple means every input we set updates in place. tests/tools/test_diff.py fails
# when the program uses a type that is not listed here.
REPLACED_BY: dict[str, tuple[str, ...]] = {
    "aws:acm/certificate:Certificate": (
        "domainName",
        "subjectAlternativeNames",
        "validationMethod",
        "keyAlgorithm",
    ),
    "aws:acm/certificateValidation:CertificateValidation": ("*",),
    "aws:backup/plan:Plan": ("name",),
    "aws:backup/selection:Selection": ("*",),
    "aws:backup/vault:Vault": ("name", "kmsKeyArn"),
    "aws:backup/vaultNotifications:VaultNotifications": ("*",),
    "aws:backup/vaultPolicy:VaultPolicy": ("backupVaultName",),
    "aws:budgets/budget:Budget": ("name", "namePrefix", "accountId"),
    "aws:cloudtrail/trail:Trail": ("name",),
    "aws:cloudfront/distribution:Distribution": (),
    "aws:cloudfront/originAccessControl:OriginAccessControl": (),
    "aws:cloudfront/keyGroup:KeyGroup": (),
    "aws:cloudfront/publicKey:PublicKey": ("encodedKey", "name", "namePrefix"),
    "aws:cloudwatch/eventRule:EventRule": ("name", "namePrefix", "eventBusName"),
    "aws:cloudwatch/eventTarget:EventTarget": ("rule", "targetId", "eventBusName"),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "namePrefix", "logGroupClass"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("name",),
    "aws:costexplorer/anomalyMonitor:AnomalyMonitor": (
        "monitorType",
        "monitorDimension",
        "monitorSpecification",
    ),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": ("vpcId",),
    "aws:ec2/eip:Eip": ("domain", "networkBorderGroup", "publicIpv4Pool"),
    "aws:ec2/flowLog:FlowLog": ("*",),
    "aws:ec2/internetGateway:InternetGateway": (),
    "aws:ec2/launchTemplate:LaunchTemplate": ("name", "namePrefix"),
    "aws:ec2/tag:Tag": ("resourceId", "key"),
    "aws:ec2/natGateway:NatGateway": (
        "allocationId",
        "subnetId",
        "connectivityType",
        "privateIp",
    ),
    "aws:ec2/route:Route": (
        "routeTableId",
        "destinationCidrBlock",
        "destinationIpv6CidrBlock",
        "destinationPrefixListId",
    ),
    "aws:ec2/routeTable:RouteTable": ("vpcId",),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ("subnetId", "gatewayId"),
    "aws:ec2/securityGroup:SecurityGroup": ("name", "namePrefix", "description", "vpcId"),
    "aws:ec2/subnet:Subnet": ("vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId"),
    "aws:ec2/vpc:Vpc": ("cidrBlock", "ipv4IpamPoolId"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("vpcId", "serviceName", "vpcEndpointType"),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": ("repository",),
    "aws:ecr/repository:Repository": ("name", "encryptionConfigurations"),
    "aws:efs/accessPoint:AccessPoint": ("fileSystemId", "posixUser", "rootDirectory"),
    "aws:efs/backupPolicy:BackupPolicy": ("fileSystemId",),
    "aws:efs/fileSystem:FileSystem": (
        "creationToken",
        "encrypted",
        "kmsKeyId",
        "performanceMode",
        "availabilityZoneName",
    ),
    "aws:efs/fileSystemPolicy:FileSystemPolicy": ("fileSystemId",),
    "aws:efs/mountTarget:MountTarget": ("fileSystemId", "subnetId", "ipAddress"),
    "aws:eks/accessEntry:AccessEntry": ("clusterName", "principalArn", "type"),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": ("*",),
    "aws:eks/addon:Addon": ("clusterName", "addonName"),
    "aws:eks/nodeGroup:NodeGroup": (
        "clusterName",
        "nodeGroupName",
        "nodeGroupNamePrefix",
        "nodeRoleArn",
        "subnetIds",
        "instanceTypes",
        "capacityType",
        "amiType",
        "diskSize",
        "remoteAccess",
    ),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": (
        "clusterName",
        "namespace",
        "serviceAccount",
    ),
    "aws:elasticache/replicationGroup:ReplicationGroup": (
        "replicationGroupId",
        "atRestEncryptionEnabled",
        "kmsKeyId",
        "subnetGroupName",
        "preferredCacheClusterAzs",
    ),
    "aws:elasticache/subnetGroup:SubnetGroup": ("name",),
    "aws:guardduty/detector:Detector": (),
    "aws:guardduty/detectorFeature:DetectorFeature": ("detectorId", "name"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": ("url",),
    "aws:iam/policy:Policy": ("name", "namePrefix", "path", "description"),
    "aws:iam/role:Role": ("name", "namePrefix", "path"),
    "aws:iam/rolePolicy:RolePolicy": ("name", "namePrefix", "role"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("role", "policyArn"),
    "aws:kms/alias:Alias": ("name", "namePrefix"),
    "aws:kms/key:Key": ("customerMasterKeySpec", "keyUsage", "multiRegion", "xksKeyId"),
    "aws:rds/cluster:Cluster": (
        "clusterIdentifier",
        "clusterIdentifierPrefix",
        "engine",
        "engineMode",
        "databaseName",
        "masterUsername",
        "availabilityZones",
        "dbSubnetGroupName",
        "storageEncrypted",
        "kmsKeyId",
    ),
    "aws:rds/clusterInstance:ClusterInstance": (
        "identifier",
        "identifierPrefix",
        "clusterIdentifier",
        "engine",
        "availabilityZone",
        "dbSubnetGroupName",
    ),
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": ("name", "namePrefix", "family"),
    "aws:rds/subnetGroup:SubnetGroup": ("name", "namePrefix"),
    "aws:route53/record:Record": ("zoneId", "name", "type", "setIdentifier"),
    "aws:route53/zone:Zone": ("name",),
    "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock": ("accountId",),
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix", "objectLockEnabled"),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ("bucket",),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ("bucket",),
    "aws:s3/bucketPolicy:BucketPolicy": ("bucket",),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ("bucket",),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "bucket",
    ),
    "aws:s3/bucketVersioning:BucketVersioning": ("bucket",),
    "aws:secretsmanager/secret:Secret": ("name", "namePrefix"),
    "aws:secretsmanager/secretVersion:SecretVersion": ("secretId", "secretString"),
    "aws:sns/topic:Topic": ("name", "namePrefix", "fifoTopic"),
    "aws:sns/topicPolicy:TopicPolicy": ("arn",),
    "aws:sqs/queue:Queue": ("name", "namePrefix", "fifoQueue"),
    "aws:sqs/queuePolicy:QueuePolicy": ("queueUrl",),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ("securityGroupId",),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("securityGroupId",),
    "aws:wafv2/webAcl:WebAcl": ("name", "namePrefix", "scope"),
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": ("resourceArn",),
    "kubernetes:helm.sh/v3:Release": ("name", "namespace"),
    "random:index/randomPassword:RandomPassword": ("*",),
}
# Every Kubernetes object is identified by its name and namespace: changing either makes
# a new object. Types from other packages fall back to these per-package rules.
REPLACED_BY_PACKAGE: dict[str, tuple[str, ...]] = {
    "kubernetes": ("metadata.name", "metadata.namespace"),
    # Keys and certificates made locally have no update: any input makes a new one.
    "tls": ("*",),
}

Kind = Literal["create", "update", "replace", "delete"]
Output = Literal["text", "json", "markdown"]
SYMBOLS: dict[Kind, str] = {"create": "+", "update": "~", "delete": "-", "replace": "+-"}
_ABSENT = object()  # an input present on one side only


def replaced_by(type_token: str) -> tuple[str, ...] | None:
    """The replace-forcing input paths of a resource type; None for types not listed."""
    if type_token in REPLACED_BY:
        return REPLACED_BY[type_token]
    return REPLACED_BY_PACKAGE.get(type_token.split(":", 1)[0])


def forces_replacement(type_token: str, path: str) -> bool:
    for forcing in replaced_by(type_token) or ():
        if forcing == "*" or path == forcing or path.startswith((f"{forcing}.", f"{forcing}[")):
            return True
    return False


@dataclass(frozen=True)
class InputChange:
    path: str
    old: Any  # _ABSENT when the input is new
    new: Any  # _ABSENT when the input was removed
    forces_replacement: bool = False

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"path": self.path}
        if self.old is not _ABSENT:
            document["old"] = self.old
        if self.new is not _ABSENT:
            document["new"] = self.new
        if self.forces_replacement:
            document["forcesReplacement"] = True
        return document


@dataclass(frozen=True)
class ResourceChange:
    kind: Kind
    urn: str
    type: str
    name: str
    inputs: tuple[InputChange, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "op": self.kind,
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "inputs": [change.as_json() for change in self.inputs],
        }


@dataclass
class StackDiff:
    project: str
    stack: str
    resources: list[ResourceChange] = field(default_factory=list)
    outputs: list[InputChange] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return bool(self.resources or self.outputs)

    def counts(self) -> dict[Kind, int]:
        counts: dict[Kind, int] = dict.fromkeys(SYMBOLS, 0)
        for change in self.resources:
            counts[change.kind] += 1
        return counts

    def summary(self) -> str:
        """`+3 ~2 -1 +-1`, the kinds that occur; `no changes` when none do."""
        parts = [f"{SYMBOLS[kind]}{n}" for kind, n in self.counts().items() if n]
        if not parts:
            return "no changes" if not self.outputs else f"{len(self.outputs)} output changes"
        return " ".join(parts)

    def as_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "summary": self.counts(),
            "changes": [change.as_json() for change in self.resources],
            "outputs": [change.as_json() for change in self.outputs],
        }


RESOURCE_KEYS = ("urn", "type", "name", "inputs")


def load_base(path: Path) -> list[Mapping[str, Any]]:
    """BASE: an earlier `python -m tools.preview STACK... --json` (one document or a list).
    Raises ValueError (JSONDecodeError included) for anything else, rather than diffing
    it as if every resource were new."""
    loaded = json.loads(path.read_text())
    documents = loaded if isinstance(loaded, list) else [loaded]
    for document in documents:
        resources = document.get("resources") if isinstance(document, dict) else None
        if not (
            isinstance(document, dict)
            and isinstance(document.get("stack"), str)
            and isinstance(resources, list)
            and all(isinstance(r, dict) and all(k in r for k in RESOURCE_KEYS) for r in resources)
        ):
            raise ValueError("not the output of `python -m tools.preview STACK --json`")
    return documents


def base_document(documents: Sequence[Mapping[str, Any]], stack: str) -> Mapping[str, Any] | None:
    """The stack's document in BASE, None if BASE lacks it (a stack not created yet)."""
    return next((document for document in documents if document["stack"] == stack), None)


def diff(base: Mapping[str, Any] | None, current: Mapping[str, Any]) -> StackDiff:
    """What changes from BASE (None: a stack that does not exist yet) to CURRENT."""
    result = StackDiff(project=current["project"], stack=current["stack"])
    before = {resource["urn"]: resource for resource in (base or {}).get("resources", [])}
    after = {resource["urn"]: resource for resource in current["resources"]}
    for urn, resource in after.items():
        old = before.get(urn)
        if old is None:
            result.resources.append(_whole(resource, "create"))
            continue
        changes = tuple(_changes(resource["type"], old["inputs"], resource["inputs"]))
        if changes:
            kind: Kind = "replace" if any(c.forces_replacement for c in changes) else "update"
            result.resources.append(
                ResourceChange(kind, urn, resource["type"], resource["name"], changes)
            )
    # Deletions last, children before their parents as the engine deletes them.
    for urn in reversed([urn for urn in before if urn not in after]):
        result.resources.append(_whole(before[urn], "delete"))
    result.outputs = list(_changes("", (base or {}).get("outputs", {}), current.get("outputs", {})))
    return result


def _whole(resource: Mapping[str, Any], kind: Kind) -> ResourceChange:
    inputs = resource["inputs"]
    empty: dict[str, Any] = {}
    pairs = (empty, inputs) if kind == "create" else (inputs, empty)
    return ResourceChange(
        kind,
        resource["urn"],
        resource["type"],
        resource["name"],
        tuple(_changes("", *pairs)),
    )


def _changes(type_token: str, old: Any, new: Any, path: str = "") -> Iterator[InputChange]:
    """Every leaf that differs, as a dotted path (`tags.stack`, `ingress[0].fromPort`)."""
    old, new = _structured(old), _structured(new)
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new)):
            child = f"{path}.{key}" if path else str(key)
            yield from _changes(type_token, old.get(key, _ABSENT), new.get(key, _ABSENT), child)
    elif _is_list(old) and _is_list(new):
        for index in range(max(len(old), len(new))):
            yield from _changes(
                type_token,
                old[index] if index < len(old) else _ABSENT,
                new[index] if index < len(new) else _ABSENT,
                f"{path}[{index}]",
            )
    elif isinstance(old, Mapping | list) and new is _ABSENT:
        yield from _changes(type_token, old, {} if isinstance(old, Mapping) else [], path)
    elif isinstance(new, Mapping | list) and old is _ABSENT:
        yield from _changes(type_token, {} if isinstance(new, Mapping) else [], new, path)
    elif old != new:
        yield InputChange(path, old, new, forces_replacement(type_token, path))


def _structured(value: Any) -> Any:
    """JSON carried in a string (IAM policies, Helm values) is compared by its content."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str)


def _shown(value: Any, limit: int = 100) -> str:
    if value is _ABSENT:
        return "(unset)"
    if value == SECRET:
        return SECRET
    text = json.dumps(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def as_text(result: StackDiff) -> str:
    lines = [f"{result.project}/{result.stack}: {result.summary()}"]
    for change in result.resources:
        lines.append(f"  {SYMBOLS[change.kind]:<2} {change.type}  {change.name}")
        for item in change.inputs:
            if change.kind == "create":
                lines.append(f"       {item.path}: {_shown(item.new)}")
            elif change.kind == "delete":
                lines.append(f"       {item.path}: {_shown(item.old)}")
            else:
                mark = "  (forces replacement)" if item.forces_replacement else ""
                lines.append(f"       {item.path}: {_shown(item.old)} → {_shown(item.new)}{mark}")
    for item in result.outputs:
        lines.append(f"  ~  output {item.path}: {_shown(item.old)} → {_shown(item.new)}")
    return "\n".join(lines)


MARKDOWN_ROWS = 50  # a GitHub comment stays readable; the JSON form has every row


def as_markdown(result: StackDiff) -> str:
    """One section per stack, one collapsed block per resource: a sticky PR comment."""
    lines = [f"### `{result.project}/{result.stack}`: {result.summary()}", ""]
    for change in result.resources:
        lines.append(
            f"<details><summary><code>{SYMBOLS[change.kind]}</code> {change.kind} "
            f"<code>{change.type}</code> <b>{_cell(change.name)}</b></summary>"
        )
        lines += ["", "| input | before | after |", "|---|---|---|"]
        for item in change.inputs[:MARKDOWN_ROWS]:
            mark = " **(forces replacement)**" if item.forces_replacement else ""
            lines.append(
                f"| `{_cell(item.path)}`{mark} | `{_cell(_shown(item.old))}` "
                f"| `{_cell(_shown(item.new))}` |"
            )
        if len(change.inputs) > MARKDOWN_ROWS:
            lines.append(f"| … {len(change.inputs) - MARKDOWN_ROWS} more | | |")
        lines += ["", "</details>", ""]
    if result.outputs:
        lines += ["", "| output | before | after |", "|---|---|---|"]
        for item in result.outputs:
            lines.append(
                f"| `{_cell(item.path)}` | `{_cell(_shown(item.old))}` "
                f"| `{_cell(_shown(item.new))}` |"
            )
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'").replace("<", "&lt;").replace("\n", " ")


def report(
    documents: Sequence[Mapping[str, Any]],
    base: Sequence[Mapping[str, Any]],
    output: Output,
    expect_no_changes: bool,
) -> tuple[str, int]:
    """The diff of each previewed stack against BASE (`load_base`), and the exit code of
    `pulumi preview [--expect-no-changes]`: 1 only when changes were told not to occur."""
    diffs = [diff(base_document(base, document["stack"]), document) for document in documents]
    if output == "json":
        shown = [d.as_json() for d in diffs]
        text = json.dumps(shown[0] if len(shown) == 1 else shown, indent=2)
    elif output == "markdown":
        text = "\n\n".join(as_markdown(d) for d in diffs)
    else:
        text = "\n\n".join(as_text(d) for d in diffs)
    changed = any(d.has_changes for d in diffs)
    return text, 1 if expect_no_changes and changed else 0
