"""Every Helm chart the platform installs, pinned in one place.

Bump a version here, preview, and read the chart's upgrade notes: nothing floats.
Karpenter, KEDA and kube-prometheus-stack stay on the releases whose CRDs the tests
validate our custom resources against (`vendor/crds/`); move them together.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chart:
    name: str  # a chart name in `repository`, or an `oci://` reference
    version: str
    repository: str | None = None  # None for OCI charts


KARPENTER = Chart("oci://public.ecr.aws/karpenter/karpenter", "1.14.1")
NVIDIA_DEVICE_PLUGIN = Chart(
    "nvidia-device-plugin", "0.20.1", "https://nvidia.github.io/k8s-device-plugin"
)
DCGM_EXPORTER = Chart(
    "dcgm-exporter", "4.8.3", "https://nvidia.github.io/dcgm-exporter/helm-charts"
)
AWS_LOAD_BALANCER_CONTROLLER = Chart(
    "aws-load-balancer-controller", "3.5.0", "https://aws.github.io/eks-charts"
)
KEDA = Chart("keda", "2.20.2", "https://kedacore.github.io/charts")
EXTERNAL_SECRETS = Chart("external-secrets", "2.9.0", "https://charts.external-secrets.io")
METRICS_SERVER = Chart(
    "metrics-server", "3.14.0", "https://kubernetes-sigs.github.io/metrics-server/"
)
# 1.22 made `policy` a required value.
EXTERNAL_DNS = Chart("external-dns", "1.22.0", "https://kubernetes-sigs.github.io/external-dns/")
# Ships prometheus-operator v0.93.0 (its `appVersion`), the CRDs vendored in
# vendor/crds/prometheus-operator; move them together.
KUBE_PROMETHEUS_STACK = Chart(
    "kube-prometheus-stack", "88.2.0", "https://prometheus-community.github.io/helm-charts"
)
FLUENT_BIT = Chart("fluent-bit", "0.58.1", "https://fluent.github.io/helm-charts")
