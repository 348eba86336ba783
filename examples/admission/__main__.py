"""The platform's admission rules for environment namespaces: Ingress hosts only under
the environment's own names, SecretStores only with the namespace's own role, no
LoadBalancer or NodePort Services, enforced by the API server for whoever deploys."""

import pulumi
import pulumi_kubernetes as k8s

from components.cluster.admission import AdmissionArgs, EnvironmentAdmission

kubernetes = k8s.Provider("cluster")  # the current kubectl context
EnvironmentAdmission(
    "example",
    AdmissionArgs(domain="example.com", apex_namespace="prod"),
    opts=pulumi.ResourceOptions(providers=[kubernetes]),
)
pulumi.export("domain", "example.com")
