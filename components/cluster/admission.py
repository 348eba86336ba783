"""The platform's admission rules for environment namespaces (issue 12, guarantees 2 and 5):
ValidatingAdmissionPolicies the API server enforces on every namespace labelled
`pingvas.io/environment`, whoever deploys there.

- Ingress hosts stay inside the environment's own names (`<service>.<env>.<domain>`,
  prod `<service>.<domain>`), so ExternalDNS cannot publish another environment's host
  from this namespace. (Preview namespaces, `pr-<N>`, are held to their one host
  `<namespace>.pr.<domain>` by components/edge/preview_ingress.py's stricter policy.)
- A SecretStore names only this namespace's store role and external id.
- No Service of type LoadBalancer or NodePort: traffic enters through the WAF'd ALB."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.conventions import ENVIRONMENT_LABEL, PREVIEW_LABEL


@dataclass
class AdmissionArgs:
    domain: str
    # The one namespace whose hosts sit directly under the domain (`<service>.<domain>`).
    apex_namespace: str


def ingress_host_rule(domain: str, apex_namespace: str) -> str:
    """CEL: every host of the Ingress is `<service>.<namespace>.<domain>` (the apex
    namespace's: `<service>.<domain>`)."""
    escaped = re.escape(domain).replace("\\", "\\\\")
    own = f"'^[a-z0-9-]+\\\\.' + namespaceObject.metadata.name + '\\\\.{escaped}$'"
    apex = f"'^[a-z0-9-]+\\\\.{escaped}$'"
    return (
        "object.spec.rules.all(rule, has(rule.host) && rule.host.matches("
        f"namespaceObject.metadata.name == '{apex_namespace}' ? {apex} : {own}))"
    )


STORE_ROLE_RULE = (
    "has(object.spec.provider.aws) && "
    "object.spec.provider.aws.externalID == namespaceObject.metadata.name && "
    "object.spec.provider.aws.role.contains(':role/pingvas-' + namespaceObject.metadata.name + '-')"
)
SERVICE_TYPE_RULE = "!has(object.spec.type) || !(object.spec.type in ['LoadBalancer', 'NodePort'])"


class EnvironmentAdmission(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: AdmissionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:cluster:EnvironmentAdmission", name, None, opts)
        # rule → (resource, CEL, message, label selectors the namespaces must not have)
        rules = {
            "ingress-hosts": (
                ("networking.k8s.io", "v1", "ingresses"),
                ingress_host_rule(args.domain, args.apex_namespace),
                f"Ingress hosts must be <service>.<namespace>.{args.domain}",
                (PREVIEW_LABEL,),
            ),
            "secret-stores": (
                ("external-secrets.io", "v1", "secretstores"),
                STORE_ROLE_RULE,
                "a SecretStore may use only its own namespace's role and external id",
                (),
            ),
            "service-types": (
                ("", "v1", "services"),
                SERVICE_TYPE_RULE,
                "Services of type LoadBalancer or NodePort bypass the WAF; use an Ingress",
                (),
            ),
        }
        for rule_name, ((group, version, resource), expression, message, unless) in rules.items():
            policy_name = f"pingvas-{rule_name}"
            on_cluster = pulumi.ResourceOptions(parent=self)
            policy = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
                f"{name}-{rule_name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=policy_name),
                spec=k8s.admissionregistration.v1.ValidatingAdmissionPolicySpecArgs(
                    failure_policy="Fail",
                    match_constraints=k8s.admissionregistration.v1.MatchResourcesArgs(
                        resource_rules=[
                            k8s.admissionregistration.v1.NamedRuleWithOperationsArgs(
                                api_groups=[group],
                                api_versions=[version],
                                resources=[resource],
                                operations=["CREATE", "UPDATE"],
                            )
                        ]
                    ),
                    validations=[
                        k8s.admissionregistration.v1.ValidationArgs(
                            expression=expression, message=message
                        )
                    ],
                ),
                opts=on_cluster,
            )
            k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
                f"{name}-{rule_name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=policy_name),
                spec=k8s.admissionregistration.v1.ValidatingAdmissionPolicyBindingSpecArgs(
                    policy_name=policy_name,
                    validation_actions=["Deny"],
                    match_resources=k8s.admissionregistration.v1.MatchResourcesArgs(
                        namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                            match_expressions=[
                                k8s.meta.v1.LabelSelectorRequirementArgs(
                                    key=ENVIRONMENT_LABEL, operator="Exists"
                                ),
                                *(
                                    k8s.meta.v1.LabelSelectorRequirementArgs(
                                        key=label, operator="DoesNotExist"
                                    )
                                    for label in unless
                                ),
                            ]
                        )
                    ),
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
            )
        self.register_outputs({})
