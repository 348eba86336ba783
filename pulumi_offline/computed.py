"""What a well-behaved provider would compute, answered offline: stable ids in AWS's formats,
ARNs, and the attributes programs read, per resource type."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from pulumi_offline.key_pair import offline_key_pair

ACCOUNT_ID = "123456789012"


def partition_of(region: str) -> dict[str, str]:
    """`aws:index/getPartition` as AWS answers it for `region`: China and GovCloud regions
    are partitions of their own, with their own ARNs (and, for China, DNS suffix)."""
    if region.startswith("cn-"):
        return {
            "partition": "aws-cn",
            "dnsSuffix": "amazonaws.com.cn",
            "reverseDnsPrefix": "cn.com.amazonaws",
        }
    name = "aws-us-gov" if region.startswith("us-gov-") else "aws"
    return {"partition": name, "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws"}


def fake_secret(name: str) -> str:
    """What a generated secret (RandomPassword `result`) resolves to offline; stable per
    resource so tests can look for it in outputs, where it must never appear."""
    return "offline-secret-" + hashlib.sha256(f"secret::{name}".encode()).hexdigest()[:24]


def _serverless_host(name: str) -> str:
    return f"{name}-x1y2z3.serverless.use1.cache.amazonaws.com"


def _partition(region: str) -> str:
    return partition_of(region)["partition"]


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
        "arn": f"arn:{_partition(region)}:s3:::{inputs.get('bucket', id_)}",
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
                "secretArn": (
                    f"arn:{_partition(region)}:"
                    f"secretsmanager:{region}:{ACCOUNT_ID}:secret:rds!{id_}"
                ),
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
    # Serverless endpoints are `<name>-<6 characters>.serverless.<region code>.cache...`.
    "aws:elasticache/serverlessCache:ServerlessCache": lambda _name, id_, inputs, _region: {
        "endpoints": [{"address": _serverless_host(inputs.get("name", id_)), "port": 6379}],
        "readerEndpoints": [{"address": _serverless_host(inputs.get("name", id_)), "port": 6380}],
    },
    "aws:efs/fileSystem:FileSystem": lambda _name, id_, _inputs, region: {
        "dnsName": f"{id_}.efs.{region}.amazonaws.com",
        "arn": (
            f"arn:{_partition(region)}:elasticfilesystem:{region}:{ACCOUNT_ID}:file-system/{id_}"
        ),
    },
    # ARNs in AWS's own formats, so that IAM documents naming them lint as they would.
    "aws:efs/accessPoint:AccessPoint": lambda _name, id_, _inputs, region: {
        "arn": (
            f"arn:{_partition(region)}:elasticfilesystem:{region}:{ACCOUNT_ID}:access-point/{id_}"
        ),
    },
    "aws:kms/key:Key": lambda _name, id_, _inputs, region: {
        "arn": f"arn:{_partition(region)}:kms:{region}:{ACCOUNT_ID}:key/{id_}",
    },
    "aws:iam/role:Role": lambda _name, id_, inputs, region: {
        "arn": f"arn:{_partition(region)}:iam::{ACCOUNT_ID}:role{inputs.get('path', '/')}{id_}",
    },
    "aws:cloudwatch/logGroup:LogGroup": lambda name, _id, inputs, region: {
        "arn": (
            f"arn:{_partition(region)}:"
            f"logs:{region}:{ACCOUNT_ID}:log-group:{inputs.get('name', name)}"
        ),
    },
    "aws:secretsmanager/secret:Secret": lambda name, id_, inputs, region: {
        "arn": f"arn:{_partition(region)}:secretsmanager:{region}:{ACCOUNT_ID}:secret:"
        f"{inputs.get('name', name)}-{id_}",
    },
    "aws:cloudfront/distribution:Distribution": lambda _name, id_, _inputs, region: {
        "arn": f"arn:{_partition(region)}:cloudfront::{ACCOUNT_ID}:distribution/{id_}",
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
        "oidcProviderArn": (
            f"arn:{_partition(region)}:"
            f"iam::{ACCOUNT_ID}:oidc-provider/oidc.eks.{region}"
            f".amazonaws.com/id/{id_.upper()}"
        ),
    },
    "aws:ec2/launchTemplate:LaunchTemplate": lambda _name, _id, _inputs, _region: {
        "latestVersion": 1,
    },
    "aws:sqs/queue:Queue": lambda _name, id_, inputs, region: {
        "arn": f"arn:{_partition(region)}:sqs:{region}:{ACCOUNT_ID}:{inputs.get('name', id_)}",
        "url": f"https://sqs.{region}.amazonaws.com/{ACCOUNT_ID}/{inputs.get('name', id_)}",
    },
    "aws:acm/certificate:Certificate": lambda _name, id_, inputs, region: {
        "arn": f"arn:{_partition(region)}:acm:{region}:{ACCOUNT_ID}:certificate/{id_}",
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
        "arn": f"arn:{_partition(region)}:wafv2:{region}:{ACCOUNT_ID}:regional/webacl/{id_}",
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


def mock_id(type_token: str, name: str) -> str:
    """A stable id, unique per resource: `<kind>-<hash>`, like AWS's `vpc-0a1b...`."""
    class_name = type_token.rsplit(":", 1)[-1]
    kind = AWS_ID_PREFIXES.get(class_name, class_name.lower())
    digest = hashlib.sha256(f"{type_token}::{name}".encode()).hexdigest()[:12]
    return f"{kind}-{digest}"
