"""SPEC §1 and §6 layer 1: WAF, certificates, DNS and the shared load balancer wiring."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from components.edge.dns import RECORD_NAMES
from pulumi_offline import OfflineRun
from tests.support.crds import crd_errors
from tests.support.iam import Request, allowed
from tests.support.stacks import run_stack

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
PARAMS = "kubernetes:elbv2.k8s.aws/v1beta1:IngressClassParams"


def rules(run: OfflineRun) -> dict[str, dict[str, Any]]:
    (acl,) = run.of_type(WEB_ACL)
    return {rule["name"]: rule for rule in acl.inputs["rules"]}


def test_rate_limit_is_2000_per_5_minutes_per_ip_answering_429(shared: OfflineRun) -> None:
    (acl,) = shared.of_type(WEB_ACL)
    assert acl.inputs["scope"] == "REGIONAL"
    assert acl.inputs["defaultAction"] == {"allow": {}}
    rate = rules(shared)["rate-limit"]
    assert rate["statement"]["rateBasedStatement"] == {
        "limit": 2000,
        "evaluationWindowSec": 300,
        "aggregateKeyType": "IP",
    }
    response = rate["action"]["block"]["customResponse"]
    assert response["responseCode"] == 429
    (body,) = acl.inputs["customResponseBodies"]
    assert body["key"] == response["customResponseBodyKey"]
    assert body["contentType"] == "APPLICATION_JSON"


def test_managed_rule_groups_by_name(shared: OfflineRun) -> None:
    groups = {
        name: rule["statement"]["managedRuleGroupStatement"]
        for name, rule in rules(shared).items()
        if "managedRuleGroupStatement" in rule["statement"]
    }
    assert {g["name"] for g in groups.values()} == {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesSQLiRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    }
    assert {g["vendorName"] for g in groups.values()} == {"AWS"}
    for name in groups:
        assert rules(shared)[name]["overrideAction"] == {"none": {}}


def test_every_rule_has_metrics_and_sampled_requests(shared: OfflineRun) -> None:
    for name, rule in rules(shared).items():
        visibility = rule["visibilityConfig"]
        assert visibility["cloudwatchMetricsEnabled"] is True, name
        assert visibility["sampledRequestsEnabled"] is True, name
        assert visibility["metricName"] == f"pingvas-shared-waf-{name}"


def test_geo_allow_list_anonymous_and_count_mode_come_from_config(
    stack_with: Callable[..., OfflineRun],
) -> None:
    run = stack_with(
        "shared",
        {
            "pingvas:edge": {
                "domain": "pingvas.example.com",
                "waf": {
                    "geoBlockCountries": ["KP", "IR"],
                    "allowListCidrs": ["198.51.100.0/24"],
                    "anonymousIpList": True,
                    "countOnly": ["common"],
                    "priorities": {"sql-injection": 5},
                },
            }
        },
    )
    found = rules(run)
    assert found["geo-block"]["statement"]["geoMatchStatement"]["countryCodes"] == ["KP", "IR"]
    assert found["geo-block"]["action"] == {"block": {}}
    allow = found["allow-list"]
    assert allow["action"] == {"allow": {}}
    (ip_set,) = run.of_type("aws:wafv2/ipSet:IpSet")
    assert ip_set.inputs["addresses"] == ["198.51.100.0/24"]
    assert allow["statement"]["ipSetReferenceStatement"]["arn"].endswith(ip_set.id)
    # The allow-list is evaluated before the rate limit.
    assert allow["priority"] < found["rate-limit"]["priority"]
    anonymous = found["anonymous-ip"]["statement"]["managedRuleGroupStatement"]
    assert anonymous["name"] == "AWSManagedRulesAnonymousIpList"
    assert found["common"]["overrideAction"] == {"count": {}}
    assert found["sql-injection"]["priority"] == 5
    priorities = [rule["priority"] for rule in found.values()]
    assert len(priorities) == len(set(priorities))


def test_no_geo_rule_or_allow_list_by_default(shared: OfflineRun) -> None:
    assert "geo-block" not in rules(shared)
    assert "allow-list" not in rules(shared)
    assert shared.of_type("aws:wafv2/ipSet:IpSet") == []


def test_waf_logs_redact_credentials(shared: OfflineRun) -> None:
    (logging,) = shared.of_type("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
    (acl,) = shared.of_type(WEB_ACL)
    assert logging.inputs["resourceArn"].endswith(acl.id)
    group = shared.one("aws:cloudwatch/logGroup:LogGroup", "pingvas-shared-waf-logs")
    assert group.inputs["name"].startswith("aws-waf-logs-")
    assert group.inputs["retentionInDays"] == 30
    assert logging.inputs["logDestinationConfigs"] == [
        f"arn:aws:logs:us-east-1:123456789012:log-group:{group.inputs['name']}"
    ]
    redacted = {field["singleHeader"]["name"] for field in logging.inputs["redactedFields"]}
    assert redacted == {"authorization", "cookie"}


# ExternalDNS instance → (namespace it reads, domain filter, excluded subdomains).
PUBLISHERS = {
    "dev": ("dev", "dev.pingvas.example.com", []),
    "prod": ("prod", "pingvas.example.com", ["dev.pingvas.example.com", "pr.pingvas.example.com"]),
    "previews": (None, "pr.pingvas.example.com", []),
}


def external_dns_policy(shared: OfflineRun, key: str) -> dict[str, Any]:
    role = shared.one("aws:iam/role:Role", f"pingvas-shared-dns-external-dns-{key}")
    (policy,) = [
        p for p in shared.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.id
    ]
    document: dict[str, Any] = json.loads(policy.inputs["policy"])
    return document


@pytest.mark.parametrize(("key", "watched"), PUBLISHERS.items())
def test_external_dns_runs_per_environment_on_its_own_names(
    shared: OfflineRun, key: str, watched: tuple[str | None, str, list[str]]
) -> None:
    """Issue 22, item 6: one ExternalDNS per environment (and one for the previews), on
    its namespace, subdomain and TXT owner; Ingress rules its only source."""
    (zone,) = shared.of_type("aws:route53/zone:Zone")
    assert zone.inputs["name"] == shared.outputs["domain"] == "pingvas.example.com"
    zone_id = shared.outputs["hostedZoneId"]
    namespace, domain, excluded = watched
    release = shared.one("kubernetes:helm.sh/v3:Release", f"pingvas-shared-dns-external-dns-{key}")
    values = release.inputs["values"]
    assert values["sources"] == ["ingress"]
    assert (values["domainFilters"], values["excludeDomains"]) == ([domain], excluded)
    assert values["extraArgs"] == [
        f"--zone-id-filter={zone_id}",
        "--ignore-hostname-annotation",  # never a name from an annotation
        *([f"--namespace={namespace}"] if namespace else []),
    ]
    assert values["policy"] == "sync"
    assert values["txtOwnerId"] == f"pingvas-shared-eks-{key}"
    assert values["serviceAccount"]["name"] == f"external-dns-{key}"
    releases = [r for r in shared.of_type("kubernetes:helm.sh/v3:Release") if "dns" in r.name]
    assert len(releases) == len(PUBLISHERS)  # no zone-wide instance left


@pytest.mark.parametrize(
    ("key", "own", "foreign"),
    [
        ("dev", ["api.dev", "a-api.dev"], ["api", "a-api", "pr-7.pr", "api.prod"]),
        ("prod", ["api", "a-api", "images"], ["api.dev", "a-api.dev", "pr-7.pr", "a-pr-7.pr"]),
        ("previews", ["pr-7.pr", "a-pr-7.pr", "cname-pr-42.pr"], ["api", "pr-login", "api.dev"]),
    ],
)
def test_each_external_dns_changes_only_its_environments_records(
    shared: OfflineRun, key: str, own: list[str], foreign: list[str]
) -> None:
    policy = external_dns_policy(shared, key)
    zone = f"arn:aws:route53:::hostedzone/{shared.outputs['hostedZoneId']}"

    def change(*names: str) -> Request:
        records = [f"{name}.pingvas.example.com" for name in names]
        return Request("route53:ChangeResourceRecordSets", zone, context={RECORD_NAMES: records})

    assert allowed([policy], change(*own))
    for name in foreign:
        assert not allowed([policy], change(name)), name
        assert not allowed([policy], change(own[0], name)), "one foreign name spoils the batch"
    other_zone = Request(
        "route53:ChangeResourceRecordSets",
        "arn:aws:route53:::hostedzone/ZOTHER",
        context={RECORD_NAMES: [f"{own[0]}.pingvas.example.com"]},
    )
    assert not allowed([policy], other_zone)


def test_existing_zone_is_used_not_created(stack_with: Callable[..., OfflineRun]) -> None:
    run = stack_with(
        "shared", {"pingvas:edge": {"domain": "pingvas.example.com", "hostedZoneId": "Z0123ABC"}}
    )
    assert run.of_type("aws:route53/zone:Zone") == []
    assert run.outputs["hostedZoneId"] == "Z0123ABC"


@pytest.mark.parametrize(
    ("stack", "api", "images"),
    [
        ("prod", "api.pingvas.example.com", "images.pingvas.example.com"),
        ("dev", "api.dev.pingvas.example.com", "images.dev.pingvas.example.com"),
    ],
)
def test_hostnames_and_dns_validated_certificates(stack: str, api: str, images: str) -> None:
    run = run_stack(stack)
    edge = run.outputs["edge"]
    assert (edge["apiHostname"], edge["imagesHostname"]) == (api, images)
    # The API's certificate is the platform's, with the environment's ALB class.
    shared = run_stack("shared")
    certificates = {
        c.inputs["domainName"]: (run, c) for c in run.of_type("aws:acm/certificate:Certificate")
    }
    assert set(certificates) == {images}
    certificates[api] = (
        shared,
        shared.one("aws:acm/certificate:Certificate", f"pingvas-shared-{stack}-api-certificate"),
    )
    for hostname, (run, certificate) in certificates.items():
        assert certificate.inputs["validationMethod"] == "DNS"
        (record,) = [
            r for r in run.of_type("aws:route53/record:Record") if r.parent == certificate.parent
        ]
        assert record.inputs["name"].endswith(f".{hostname}.")
        assert record.inputs["type"] == "CNAME"
        assert record.inputs["zoneId"] == run_stack("shared").outputs["hostedZoneId"]
        (validation,) = [
            v
            for v in run.of_type("aws:acm/certificateValidation:CertificateValidation")
            if v.parent == certificate.parent
        ]
        assert validation.inputs["certificateArn"].endswith(certificate.id)
        assert validation.inputs["validationRecordFqdns"] == [record.inputs["name"].rstrip(".")]
    # CloudFront only takes certificates from us-east-1, whatever the stack's region.
    run, images_certificate = certificates[images]
    cdn_provider = run.provider_of(images_certificate)
    assert cdn_provider.inputs["region"] == "us-east-1"
    assert cdn_provider.name == f"pingvas-{stack}-aws-cloudfront"
    assert shared.provider_of(certificates[api][1]).name == "pingvas-shared-aws"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_ingress_class_shares_one_alb_with_waf_tls_and_logs(stack: str) -> None:
    """The environment's ALB class is the platform's (issue 22, item 6): the environment
    stack names it and makes none."""
    run = run_stack(stack)
    shared = run_stack("shared")
    assert run.of_type(PARAMS) == []
    assert run.of_type("kubernetes:networking.k8s.io/v1:IngressClass") == []
    params = shared.one(PARAMS, f"pingvas-shared-{stack}-alb-params")
    resource = {
        k: copy.deepcopy(params.inputs[k]) for k in ("apiVersion", "kind", "metadata", "spec")
    }
    assert crd_errors(resource) == []
    spec = params.inputs["spec"]
    edge = run.outputs["edge"]
    assert spec["group"] == {"name": edge["ingressGroup"]}
    assert spec["wafv2AclArn"] == shared.outputs["wafAclArn"]
    validation = shared.one(
        "aws:acm/certificateValidation:CertificateValidation",
        f"pingvas-shared-{stack}-api-certificate",
    )
    assert spec["certificateArn"] == [validation.inputs["certificateArn"]]
    assert spec["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert spec["sslRedirectPort"] == "443"
    assert spec["scheme"] == "internet-facing"
    assert spec["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": stack}}
    attributes = {a["key"]: a["value"] for a in spec["loadBalancerAttributes"]}
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == shared.outputs["logsBucketName"]
    assert attributes["access_logs.s3.prefix"] == f"alb/{edge['ingressGroup']}"
    assert attributes["deletion_protection.enabled"] == ("true" if stack == "prod" else "false")
    ingress_class = shared.one(
        "kubernetes:networking.k8s.io/v1:IngressClass", f"pingvas-shared-{stack}-alb-class"
    )
    assert ingress_class.inputs["metadata"]["name"] == edge["ingressClass"]
    assert ingress_class.inputs["spec"]["controller"] == "ingress.k8s.aws/alb"
    assert ingress_class.inputs["spec"]["parameters"]["name"] == params.inputs["metadata"]["name"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_images_hostname_points_at_the_cdn(stack: str) -> None:
    run = run_stack(stack)
    records = {
        r.inputs["type"]: r
        for r in run.of_type("aws:route53/record:Record")
        if r.name in (f"pingvas-{stack}-images-a", f"pingvas-{stack}-images-aaaa")
    }
    assert set(records) == {"A", "AAAA"}
    for record in records.values():
        assert record.inputs["name"] == run.outputs["edge"]["imagesHostname"]
        assert record.inputs["zoneId"] == run_stack("shared").outputs["hostedZoneId"]
        assert record.inputs["aliases"] == [
            {
                "name": run.outputs["cdnDomainName"],
                "zoneId": "Z2FDTNDATAQYW2",
                "evaluateTargetHealth": False,
            }
        ]


def test_logs_bucket_lets_the_load_balancers_write_their_access_logs(shared: OfflineRun) -> None:
    bucket = shared.outputs["logsBucketName"]
    (policy,) = [
        p
        for p in shared.of_type("aws:s3/bucketPolicy:BucketPolicy")
        if p.name == "pingvas-shared-logs-policy"
    ]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    delivery = statements["LoadBalancerAccessLogs"]
    # us-east-1 predates the log delivery service principal: ELB's account writes there.
    assert delivery["Principal"] == {"AWS": "arn:aws:iam::127311923021:root"}
    assert delivery["Action"] == "s3:PutObject"
    assert delivery["Resource"] == f"arn:aws:s3:::{bucket}/alb/*"
    (encryption,) = [
        e
        for e in shared.of_type(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        )
        if e.name == "pingvas-shared-logs-encryption"
    ]
    # ALB access logs can only be written to SSE-S3 buckets.
    default = encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    assert default["sseAlgorithm"] == "AES256"
