"""The platform's shared edge for ephemeral `pr-<N>` stacks (issue 17).

What is slow to create or billed by the hour is made once here, not per pull request:
a wildcard certificate for `*.pr.<domain>` and one ALB ingress group (one load balancer)
that every preview namespace joins. A preview's Ingresses may only claim the preview's
own host, `<namespace>.pr.<domain>`: a ValidatingAdmissionPolicy refuses anything else,
and a second one refuses Services that would bring a load balancer of their own.

An anchor Ingress with only a default action (404) keeps the group's load balancer
alive while no preview exists, so neither the first preview's `up` nor the last one's
`destroy` waits for an ALB to be created or deleted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import pulumi
import pulumi_kubernetes as k8s

from components.conventions import PREVIEW_LABEL, pod_security_labels
from components.edge.certificate import CertificateArgs, DnsValidatedCertificate
from components.edge.ingress_class import AlbIngressClass, IngressClassArgs

PREVIEW_SUBDOMAIN = "pr"
# The platform's own namespace in the group: it holds the anchor Ingress only.
ANCHOR_NAMESPACE = "preview-edge"
NO_PREVIEW_ACTION = "no-preview"
# The load balancer controller's Ingress annotations a preview may set, with the values
# each may take: per-route settings the controller can always build. Everything else under
# alb.ingress.kubernetes.io/ (actions, conditions, listen-ports, scheme, certificates...)
# could reach beyond the preview's own host, and one Ingress the controller cannot build
# stops it reconciling the whole group. `group.name` must be the group's own (below).
ALB_ANNOTATION_VALUES = {
    "group.order": "^([1-9][0-9]{0,2}|1000)$",  # the controller's range, 1-1000
    "target-type": "^ip$",  # instance targets would need NodePort Services
    "healthcheck-path": "^/[A-Za-z0-9/._~-]{0,254}$",
    "success-codes": "^[0-9]{3}(-[0-9]{3})?(,[0-9]{3}(-[0-9]{3})?)*$",
}
ALLOWED_ALB_ANNOTATIONS = ("group.name", *ALB_ANNOTATION_VALUES)
ALB_ANNOTATION_PREFIX = "alb.ingress.kubernetes.io/"


def preview_domain(domain: str) -> str:
    """`pr.<domain>`: every preview's host lives directly under it."""
    return f"{PREVIEW_SUBDOMAIN}.{domain}"


def preview_hostname(namespace: str, domain: str) -> str:
    """`pr-7` → `pr-7.pr.<domain>`: one label under the wildcard, so its certificate
    covers it."""
    return f"{namespace}.{preview_domain(domain)}"


def preview_record_names(domain: str) -> tuple[str, ...]:
    """The Route 53 names a preview's host and its ExternalDNS ownership records take:
    `pr-<N>.pr.<domain>` and `<type>-pr-<N>.pr.<domain>` (IAM patterns cannot say
    digits; admission holds each preview to exactly its own host)."""
    return (f"pr-*.{preview_domain(domain)}", f"*-pr-*.{preview_domain(domain)}")


@dataclass
class PreviewIngressArgs:
    domain: str  # the platform's domain; previews live under pr.<domain>
    zone_id: pulumi.Input[str]
    class_name: str
    group_name: str
    waf_acl_arn: pulumi.Input[str]
    logs_bucket_name: pulumi.Input[str]
    # The load balancer controller (its CRDs and webhook) must be up first.
    depends_on: Sequence[pulumi.Resource] = ()


class PreviewIngress(pulumi.ComponentResource):
    certificate_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: PreviewIngressArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:edge:PreviewIngress", name, None, opts)
        self._args = args
        wildcard = f"*.{preview_domain(args.domain)}"
        certificate = DnsValidatedCertificate(
            f"{name}-certificate",
            CertificateArgs(domain_name=wildcard, zone_id=args.zone_id),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.certificate_arn = certificate.arn
        ingress_class = AlbIngressClass(
            f"{name}-alb",
            IngressClassArgs(
                class_name=args.class_name,
                group_name=args.group_name,
                namespace_labels={PREVIEW_LABEL: "true"},
                certificate_arn=certificate.arn,
                waf_acl_arn=args.waf_acl_arn,
                logs_bucket_name=args.logs_bucket_name,
                depends_on=args.depends_on,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        on_cluster = pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on))
        self._admission_rules(name, on_cluster)
        self._anchor(name, on_cluster, ingress_class)
        self.register_outputs({"certificate_arn": self.certificate_arn})

    def _admission_rules(self, name: str, on_cluster: pulumi.ResourceOptions) -> None:
        """Deny, in every preview namespace, Ingresses beyond its own host and Services
        that would make a load balancer (or open node ports) of their own."""
        policies = {"ingress": ingress_policy(self._args), "services": SERVICE_POLICY}
        for suffix, spec in policies.items():
            policy_name = f"pingvas-preview-{suffix}"
            policy = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
                f"{name}-{suffix}-policy",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=policy_name),
                spec=cast(k8s.admissionregistration.v1.ValidatingAdmissionPolicySpecArgsDict, spec),
                opts=on_cluster,
            )
            k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
                f"{name}-{suffix}-binding",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=policy_name),
                spec=cast(
                    k8s.admissionregistration.v1.ValidatingAdmissionPolicyBindingSpecArgsDict,
                    {
                        "policyName": policy_name,
                        "validationActions": ["Deny"],
                        "matchResources": {"namespaceSelector": PREVIEW_NAMESPACES},
                    },
                ),
                opts=pulumi.ResourceOptions.merge(
                    on_cluster, pulumi.ResourceOptions(depends_on=[policy])
                ),
            )

    def _anchor(
        self, name: str, on_cluster: pulumi.ResourceOptions, ingress_class: AlbIngressClass
    ) -> None:
        args = self._args
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=ANCHOR_NAMESPACE,
                labels={PREVIEW_LABEL: "true", **pod_security_labels("restricted")},
            ),
            opts=on_cluster,
        )
        k8s.networking.v1.Ingress(
            f"{name}-anchor",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="no-preview",
                namespace=namespace.metadata.name,
                annotations={
                    f"{ALB_ANNOTATION_PREFIX}actions.{NO_PREVIEW_ACTION}": json.dumps(
                        {
                            "type": "fixed-response",
                            "fixedResponseConfig": {
                                "contentType": "text/plain",
                                "statusCode": "404",
                                "messageBody": "No such preview",
                            },
                        }
                    ),
                },
            ),
            spec=k8s.networking.v1.IngressSpecArgs(
                ingress_class_name=args.class_name,
                default_backend=k8s.networking.v1.IngressBackendArgs(
                    service=k8s.networking.v1.IngressServiceBackendArgs(
                        name=NO_PREVIEW_ACTION,
                        port=k8s.networking.v1.ServiceBackendPortArgs(name="use-annotation"),
                    )
                ),
            ),
            opts=pulumi.ResourceOptions.merge(
                on_cluster, pulumi.ResourceOptions(depends_on=[ingress_class])
            ),
        )


# Preview namespaces, less the platform's anchor namespace.
PREVIEW_NAMESPACES = {
    "matchExpressions": [
        {"key": PREVIEW_LABEL, "operator": "In", "values": ["true"]},
        {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": [ANCHOR_NAMESPACE]},
    ]
}


def ingress_policy(args: PreviewIngressArgs) -> dict[str, object]:
    """CEL rules (admissionregistration.k8s.io/v1) for a preview namespace's Ingresses."""
    values = {
        ALB_ANNOTATION_PREFIX + key: pattern
        for key, pattern in {
            "group.name": f"^{re.escape(args.group_name)}$",
            **ALB_ANNOTATION_VALUES,
        }.items()
    }
    patterns = json.dumps(values)  # JSON strings are CEL string literals
    group_annotation = f"{ALB_ANNOTATION_PREFIX}group.name"
    annotations = "object.metadata.annotations"
    return {
        "failurePolicy": "Fail",
        "matchConstraints": {
            "resourceRules": [
                {
                    "apiGroups": ["networking.k8s.io"],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": ["ingresses"],
                }
            ]
        },
        "variables": [
            {
                "name": "host",
                "expression": f"namespaceObject.metadata.name + '.{preview_domain(args.domain)}'",
            }
        ],
        "validations": [
            {
                "expression": (
                    "has(object.spec.ingressClassName) && "
                    f"object.spec.ingressClassName == '{args.class_name}'"
                ),
                "message": f"preview Ingresses use the shared class {args.class_name}",
            },
            {
                "expression": (
                    "has(object.spec.rules) && size(object.spec.rules) > 0 && "
                    "object.spec.rules.all(rule, has(rule.host) && rule.host == variables.host)"
                ),
                "messageExpression": "'every rule must name the preview host ' + variables.host",
            },
            {
                "expression": (
                    "!has(object.spec.tls) || object.spec.tls.all(entry, "
                    "!has(entry.hosts) || entry.hosts.all(host, host == variables.host))"
                ),
                "messageExpression": "'TLS hosts must be ' + variables.host",
            },
            {
                "expression": "!has(object.spec.defaultBackend)",
                "message": "a default backend would answer every host of the shared group",
            },
            {
                "expression": (
                    f"!has({annotations}) || {annotations}.all(key, "
                    f"key == 'kubernetes.io/ingress.class' ? false : "
                    f"(!key.startsWith('{ALB_ANNOTATION_PREFIX}') || (key in {patterns} && "
                    f"{annotations}[key].matches({patterns}[key]))))"
                ),
                "message": (
                    "only these load balancer annotations are allowed, with the platform's "
                    "values: " + ", ".join(ALLOWED_ALB_ANNOTATIONS)
                ),
            },
            {
                "expression": (
                    f"!has({annotations}) || !('{group_annotation}' in {annotations}) || "
                    f"{annotations}['{group_annotation}'] == '{args.group_name}'"
                ),
                "message": f"preview Ingresses join the group {args.group_name}",
            },
        ],
    }


SERVICE_POLICY: dict[str, object] = {
    "failurePolicy": "Fail",
    "matchConstraints": {
        "resourceRules": [
            {
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE"],
                "resources": ["services"],
            }
        ]
    },
    "validations": [
        {
            # No ExternalName either: as an Ingress backend the controller would resolve it
            # to whatever name it holds, and it is no in-cluster Service.
            "expression": "!has(object.spec.type) || object.spec.type == 'ClusterIP'",
            "message": (
                "previews reach the internet through the shared ingress group only, "
                "to ClusterIP Services"
            ),
        }
    ],
}
