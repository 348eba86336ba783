"""The platform's admission rules (issue 12, guarantees 2 and 5; issue 22, item 6):
ValidatingAdmissionPolicies the API server enforces on every namespace labelled
`pingvas.io/environment`, whoever deploys there, and one on every namespace.

- Ingress hosts, rule and TLS alike, stay inside the environment's own names
  (`<service>.<env>.<domain>`, prod `<service>.<domain>`), so ExternalDNS cannot publish
  another environment's host from this namespace. (Preview namespaces, `pr-<N>`, are held
  to their one host `<namespace>.pr.<domain>` by components/edge/preview_ingress.py's
  stricter policy.)
- A SecretStore names only this namespace's store role and external id.
- No Service of type LoadBalancer or NodePort (traffic enters through the WAF'd ALB), nor
  ExternalName (an Ingress backend the ALB controller would resolve to any name).
- ServiceMonitors and PodMonitors scrape their own namespace only and read no file of
  Prometheus's (`bearerTokenFile`, TLS file paths would hand its token or keys to the
  tenant's target); Prometheus also refuses them itself (components/operations/monitoring.py).
- Previews run on their own tainted node pools (components/cluster/karpenter.py): a pod
  in a preview namespace selects the preview nodes' label (and names no node), and a pod
  of any other environment tolerates no taint of theirs (a key-less `Exists` included).
  The preview deployer writes its own pod specs, so the taint alone would not hold.
- Everywhere, the platform's namespaces included: no `Service.spec.externalIPs`
  (CVE-2020-8554: a Service claiming an external IP intercepts the cluster's traffic to it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.conventions import ENVIRONMENT_LABEL, PREVIEW_LABEL, PREVIEW_TAINT


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
    pattern = f"namespaceObject.metadata.name == '{apex_namespace}' ? {apex} : {own}"
    return (
        f"object.spec.rules.all(rule, has(rule.host) && rule.host.matches({pattern})) && "
        "(!has(object.spec.tls) || object.spec.tls.all(entry, !has(entry.hosts) || "
        f"entry.hosts.all(host, host.matches({pattern}))))"
    )


STORE_ROLE_RULE = (
    "has(object.spec.provider.aws) && "
    "object.spec.provider.aws.externalID == namespaceObject.metadata.name && "
    "object.spec.provider.aws.role.contains(':role/pingvas-' + namespaceObject.metadata.name + '-')"
)
SERVICE_TYPE_RULE = (
    "!has(object.spec.type) || !(object.spec.type in ['LoadBalancer', 'NodePort', 'ExternalName'])"
)
EXTERNAL_IPS_RULE = "!has(object.spec.externalIPs) || size(object.spec.externalIPs) == 0"
# The ServiceMonitor fields (prometheus-operator's CRD) that name a file on Prometheus.
MONITOR_FILE_FIELDS = (
    "bearerTokenFile",
    "tlsConfig.caFile",
    "tlsConfig.certFile",
    "tlsConfig.keyFile",
)
MONITOR_FILES_RULE = (
    "!has(object.spec.endpoints) || object.spec.endpoints.all(e, "
    + " && ".join(
        f"!has(e.{field})" if "." not in field else f"!(has(e.tlsConfig) && has(e.{field}))"
        for field in MONITOR_FILE_FIELDS
    )
    + ")"
)
MONITOR_NAMESPACES_RULE = (
    "!has(object.spec.namespaceSelector) || ("
    "!(has(object.spec.namespaceSelector.any) && object.spec.namespaceSelector.any) && "
    "(!has(object.spec.namespaceSelector.matchNames) || "
    "object.spec.namespaceSelector.matchNames.all(n, n == namespaceObject.metadata.name)))"
)

_PREVIEW_KEY = PREVIEW_TAINT["key"]
IN_PREVIEW_NAMESPACE = (
    f"has(namespaceObject.metadata.labels) && '{PREVIEW_LABEL}' in namespaceObject.metadata.labels"
    f" && namespaceObject.metadata.labels['{PREVIEW_LABEL}'] == 'true'"
)
# nodeName skips the scheduler (and so the taints): refused when a pod is created; later
# updates of a scheduled pod carry the node the scheduler bound it to.
PREVIEW_POD_RULE = (
    f"!({IN_PREVIEW_NAMESPACE}) || (has(object.spec.nodeSelector) && "
    f"'{_PREVIEW_KEY}' in object.spec.nodeSelector && "
    f"object.spec.nodeSelector['{_PREVIEW_KEY}'] == '{PREVIEW_TAINT['value']}' && "
    "(request.operation != 'CREATE' || !has(object.spec.nodeName)))"
)
NO_PREVIEW_TOLERATION_RULE = (
    f"({IN_PREVIEW_NAMESPACE}) || !has(object.spec.tolerations) || "
    f"!object.spec.tolerations.exists(t, (has(t.key) && t.key == '{_PREVIEW_KEY}') || "
    "((!has(t.key) || t.key == '') && has(t.operator) && t.operator == 'Exists'))"
)


class EnvironmentAdmission(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: AdmissionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:cluster:EnvironmentAdmission", name, None, opts)
        services = [("", "v1", "services")]
        monitors = [
            ("monitoring.coreos.com", "v1", "servicemonitors"),
            ("monitoring.coreos.com", "v1", "podmonitors"),
        ]
        # rule → (resources, [(CEL, message)], where it binds: environment namespaces
        # without these labels, or None for every namespace)
        rules: dict[
            str,
            tuple[list[tuple[str, str, str]], list[tuple[str, str]], tuple[str, ...] | None],
        ] = {
            "ingress-hosts": (
                [("networking.k8s.io", "v1", "ingresses")],
                [
                    (
                        ingress_host_rule(args.domain, args.apex_namespace),
                        f"Ingress rule and TLS hosts must be <service>.<namespace>.{args.domain}",
                    )
                ],
                (PREVIEW_LABEL,),
            ),
            "secret-stores": (
                [("external-secrets.io", "v1", "secretstores")],
                [
                    (
                        STORE_ROLE_RULE,
                        "a SecretStore may use only its own namespace's role and external id",
                    )
                ],
                (),
            ),
            "service-types": (
                services,
                [
                    (
                        SERVICE_TYPE_RULE,
                        "Services of type LoadBalancer, NodePort or ExternalName bypass the "
                        "WAF or leave the namespace; use an Ingress to a ClusterIP Service",
                    )
                ],
                (),
            ),
            "monitors": (
                monitors,
                [
                    (MONITOR_FILES_RULE, "a monitor may not read Prometheus's files"),
                    (MONITOR_NAMESPACES_RULE, "a monitor scrapes its own namespace only"),
                ],
                (),
            ),
            "preview-nodes": (
                [("", "v1", "pods")],
                [
                    (
                        PREVIEW_POD_RULE,
                        f"a preview's pods run on the preview node pools only: nodeSelector "
                        f"{_PREVIEW_KEY}={PREVIEW_TAINT['value']}, and no nodeName",
                    ),
                    (
                        NO_PREVIEW_TOLERATION_RULE,
                        "only a preview's pods may tolerate the preview nodes' taint",
                    ),
                ],
                (),
            ),
            "external-ips": (
                services,
                [(EXTERNAL_IPS_RULE, "Service externalIPs are refused (CVE-2020-8554)")],
                None,  # every namespace
            ),
        }
        for rule_name, (resources, validations, unless) in rules.items():
            policy_name = f"pingvas-{rule_name}"
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
                            for group, version, resource in resources
                        ]
                    ),
                    validations=[
                        k8s.admissionregistration.v1.ValidationArgs(
                            expression=expression, message=message
                        )
                        for expression, message in validations
                    ],
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
                f"{name}-{rule_name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=policy_name),
                spec=k8s.admissionregistration.v1.ValidatingAdmissionPolicyBindingSpecArgs(
                    policy_name=policy_name,
                    validation_actions=["Deny"],
                    match_resources=None if unless is None else _environments(unless),
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
            )
        self.register_outputs({})


def _environments(unless: tuple[str, ...]) -> k8s.admissionregistration.v1.MatchResourcesArgs:
    """Namespaces labelled as an environment's, less those carrying any of `unless`."""
    return k8s.admissionregistration.v1.MatchResourcesArgs(
        namespace_selector=k8s.meta.v1.LabelSelectorArgs(
            match_expressions=[
                k8s.meta.v1.LabelSelectorRequirementArgs(key=ENVIRONMENT_LABEL, operator="Exists"),
                *(
                    k8s.meta.v1.LabelSelectorRequirementArgs(key=label, operator="DoesNotExist")
                    for label in unless
                ),
            ]
        )
    )
