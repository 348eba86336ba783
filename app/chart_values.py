"""The app chart's values (`app/chart/`), modelled once.

The model holds each value's type, bounds and meaning; `app/chart/values.yaml` holds the
defaults (the per-environment files and the release override some of them). From the model
come `app/chart/values.schema.json`, which Helm checks every install, upgrade, template and
lint against, and the values table in `app/chart/README.md` (`python -m tools.generate.chart_schema`
writes both). The release builds its overrides as a `ReleaseValues` (from the stack's
outputs, in components/environment/app_release.py), and app/chart_layers.py layers them over
the chart's files and checks the result against `ChartValues`.

Every field is required: Helm validates the values merged over `values.yaml`, which sets
them all. An empty string means "not set" where only the release can supply the value;
the templates then fail with a `... is required` message naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from app.chart_value_types import (
    DNS_NAME_PATTERN,
    AbsolutePath,
    AccessPointId,
    BucketName,
    CidrList,
    CloudFrontId,
    Count,
    Digest,
    DnsLabel,
    Duration,
    EnvironmentVariable,
    FileSystemId,
    HttpsUrl,
    IntOrPercentage,
    OptionalDnsLabel,
    OptionalDnsName,
    OptionalSecretArn,
    Port,
    Quantity,
    Region,
    Seconds,
    SecretArn,
    SecurityGroupId,
    UrlPath,
    Word,
)

CHART_DIR = Path(__file__).resolve().parent / "chart"


# The kinds of environment (infra/config/profiles.py's Profile), each with its
# values-<profile>.yaml.
ValuesProfile = Literal["dev", "prod", "ephemeral"]


class _Values(BaseModel):
    """camelCase keys as in values.yaml. Strict, as Helm's schema check is: an unknown key is
    an error (a typo, not a value), and "yes" is no boolean."""

    model_config = ConfigDict(
        extra="forbid", strict=True, alias_generator=to_camel, validate_by_name=True, frozen=True
    )


class Image(_Values):
    repository: Annotated[
        str,
        Field(
            pattern=r"^(([a-z0-9.-]+(:[0-9]+)?/)?[a-z0-9]+([._/-][a-z0-9]+)*)?$",
            description="Registry and repository, no tag: the platform's ECR repository.",
        ),
    ]
    tag: Annotated[
        str,
        Field(
            pattern=r"^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(@sha256:[0-9a-f]{64})?)?$",
            description="An immutable tag, set per build (pingvas:imageTags), pinned to the "
            "digest CI pushed (`<tag>@sha256:<hex>`).",
        ),
    ]


# Each `Release<Section>` holds the section's values the release sets (its leading fields),
# and the chart's section extends it: one definition per value, and the release's overrides
# are typed by the model (components/environment/app_release.py). A value the release sets
# only sometimes is None there (left out of the overrides) and "" in the chart's section.


class ReleaseImages(_Values):
    api: Annotated[Image, Field(description="The five API services and the migrations.")]
    worker: Annotated[Image, Field(description="The GPU worker.")]


class Images(ReleaseImages):
    pull_policy: Annotated[
        Literal["Always", "IfNotPresent", "Never"],
        Field(description="Tags are immutable, so Always only re-checks the digest."),
    ]


class ServiceAccounts(_Values):
    api: Annotated[DnsLabel, Field(description="The API pods' (a Pod Identity role).")]
    worker: Annotated[DnsLabel, Field(description="The GPU workers' (a Pod Identity role).")]
    migrations: Annotated[
        DnsLabel,
        Field(description="The migration Job's, the only one that may read the master secret."),
    ]


class Aws(_Values):
    region: Annotated[Region, Field(description="The AWS region of every resource.")]


class ReleaseConfig(_Values):
    s3_bucket: Annotated[
        BucketName, Field(description="The environment's images bucket (S3_BUCKET); required.")
    ]
    image_base_url: Annotated[
        HttpsUrl,
        Field(description="https://<CDN domain>; empty serves presigned S3 URLs instead."),
    ]
    cloudfront_key_pair_id: Annotated[
        CloudFrontId,
        Field(
            description="With imageBaseUrl: the CloudFront public key signing image URLs "
            "(CLOUDFRONT_KEY_PAIR_ID; its private half is in secrets.appSecretArns).",
        ),
    ]
    cloudfront_distribution_id: Annotated[
        CloudFrontId,
        Field(
            description="With imageBaseUrl: the distribution where deleted images are "
            "invalidated (CLOUDFRONT_DISTRIBUTION_ID).",
        ),
    ]


class AppConfig(ReleaseConfig):
    cors_origins: Annotated[
        str, Field(description="CORS_ORIGINS: comma-separated origins, empty for none.")
    ]
    models_dir: Annotated[
        AbsolutePath, Field(description="Where the model store is mounted (MODELS_DIR).")
    ]


class SecretStore(_Values):
    kind: Annotated[
        Literal["ClusterSecretStore", "SecretStore"],
        Field(description="The External Secrets store's kind."),
    ]
    name: Annotated[DnsLabel, Field(description="The store External Secrets reads from.")]


class ReleaseSecrets(_Values):
    database_secret_arn: Annotated[
        OptionalSecretArn,
        Field(
            description="JSON secret with DATABASE_URL, DATABASE_READ_URL, DB_SCHEMA, ..., "
            "copied to `<release>-database`, which the API reads (and read by the "
            "migration hook); required."
        ),
    ]
    worker_database_secret_arn: Annotated[
        OptionalSecretArn,
        Field(
            description="The GPU workers' role's secret, with the same keys, copied to "
            "`<release>-worker-database`, which the workers read (and read by the migration "
            "hook, which creates the role); required."
        ),
    ]
    app_secret_arns: Annotated[
        dict[EnvironmentVariable, SecretArn],
        Field(
            description="Environment variable → ARN of a plain-string secret, copied into "
            "the Secret `<release>-app` every app container reads."
        ),
    ]
    redis_secret_arn: SecretArn | None = None


class Secrets(ReleaseSecrets):
    redis_secret_arn: Annotated[
        OptionalSecretArn,
        Field(
            description="ElastiCache: JSON secret with REDIS_URL and REDIS_PASSWORD, copied "
            "to `<release>-redis`."
        ),
    ]
    store: SecretStore
    refresh_interval: Annotated[
        Duration, Field(description="How often External Secrets re-reads each secret.")
    ]


class Redis(_Values):
    address: Annotated[
        str,
        Field(
            pattern=rf"^({DNS_NAME_PATTERN}:[0-9]{{1,5}})?$",
            description="host:port, for KEDA's scaler (the app reads REDIS_URL).",
        ),
    ]
    tls: Annotated[bool, Field(description="Whether the server speaks TLS.")]
    existing_secret: Annotated[
        OptionalDnsLabel,
        Field(description="In-cluster Redis: its Secret, with the same keys as ElastiCache's."),
    ]
    auth: Annotated[bool, Field(description="Whether the server wants a password (KEDA reads it).")]
    cluster: Annotated[
        bool,
        Field(
            description="The cluster protocol (ElastiCache Serverless): REDIS_CLUSTER for the"
            " app, KEDA's redis-cluster-streams scaler."
        ),
    ]


class ReleaseModels(_Values):
    file_system_id: Annotated[
        FileSystemId, Field(description="The platform's EFS model store; required.")
    ]
    access_point_id: Annotated[
        AccessPointId, Field(description="Its /models access point; required.")
    ]


class Models(ReleaseModels):
    storage_class_name: Annotated[DnsLabel, Field(description="The static volume's class.")]
    size: Annotated[Quantity, Field(description="The volume's nominal size (EFS is elastic).")]


class ResourceList(_Values):
    cpu: Annotated[Quantity, Field(description="CPU cores: 250m is a quarter.")]
    memory: Annotated[Quantity, Field(description="Bytes: 512Mi, 10Gi.")]
    gpu: Annotated[
        Count | None, Field(alias="nvidia.com/gpu", description="GPUs (the worker's one).")
    ] = None


class Resources(_Values):
    requests: ResourceList
    limits: ResourceList


class ReleaseAutoscaling(_Values):
    enabled: Annotated[
        bool, Field(description="An HPA per service, from `replicas` up to `maxReplicas`.")
    ]


class Autoscaling(ReleaseAutoscaling):
    max_replicas: Annotated[int, Field(ge=1, description="The HPA's ceiling per service.")]
    target_cpu_utilization_percentage: Annotated[
        int,
        Field(
            ge=1,
            le=100,
            alias="targetCPUUtilizationPercentage",
            description="Average CPU, as % of requests, the HPA holds.",
        ),
    ]


class ApiService(_Values):
    port: Annotated[Port, Field(description="The container and Service port (SPEC §3).")]
    paths: Annotated[
        list[UrlPath],
        Field(min_length=1, description="Path prefixes routed to it, one Ingress each."),
    ]


class ReleaseApi(_Values):
    replicas: Annotated[int, Field(ge=1, description="Per service (the HPA's minimum).")]
    autoscaling: ReleaseAutoscaling
    forwarded_allow_ips: Annotated[
        CidrList,
        Field(description="Where X-Forwarded-For is trusted from: the ALB's subnets."),
    ]


class Api(ReleaseApi):
    autoscaling: Autoscaling
    resources: Annotated[Resources, Field(description="Per API container.")]
    services: Annotated[
        dict[DnsLabel, ApiService],
        Field(min_length=1, description="`<name>-service`, running app.services.<name>."),
    ]


class ReleaseIngress(_Values):
    class_name: Annotated[OptionalDnsLabel, Field(description="The environment's ALB class.")]
    group_name: Annotated[OptionalDnsLabel, Field(description="The ALB group of every Ingress.")]
    host: Annotated[OptionalDnsName, Field(description="The API's hostname; required.")]
    security_group_id: SecurityGroupId | None = None


class Ingress(ReleaseIngress):
    security_group_id: Annotated[
        SecurityGroupId,
        Field(
            description="The network's ALB group for the load balancer; empty on previews, "
            "which join the platform's shared ALB.",
        ),
    ]


class Queue(_Values):
    prefix: Annotated[
        str,
        Field(
            # A hash tag (`{...}`, not empty): in cluster mode the queue's keys share a slot.
            pattern=r"^[^{]*\{[^}]+\}",
            description="Streams are `<prefix>:<tier>`; a hash tag keeps them in one slot.",
        ),
    ]
    group: Annotated[str, Field(min_length=1, description="The workers' consumer group.")]
    tiers: Annotated[list[Word], Field(min_length=1, description="One stream per tier.")]
    lag_count: Annotated[
        int, Field(ge=1, description="Waiting entries per worker before another starts.")
    ]
    activation_lag_count: Annotated[
        Count, Field(description="Lag above which a worker starts from zero.")
    ]
    pending_entries_count: Annotated[
        int, Field(ge=1, description="Unacknowledged entries per worker: running jobs.")
    ]


class Compile(_Values):
    enabled: Annotated[
        bool, Field(description="torch.compile the UNet for the bucket sizes (WORKER_COMPILE).")
    ]
    sizes: Annotated[
        str,
        Field(
            pattern=r"^[0-9]+x[0-9]+(,[0-9]+x[0-9]+)*$",
            description="Bucket sizes WIDTHxHEIGHT, comma-separated; other sizes run eagerly.",
        ),
    ]
    mode: Annotated[
        Literal["default", "reduce-overhead", "max-autotune"],
        Field(description="torch.compile mode (reduce-overhead: CUDA graphs)."),
    ]
    cache_claim_name: Annotated[
        OptionalDnsLabel,
        Field(
            description="A ReadWriteMany claim (EFS) for inductor's cache, kept across "
            "scale-from-zero; empty: an emptyDir, which lives as long as the pod.",
        ),
    ]


class ReleaseWorker(_Values):
    min_replicas: Annotated[Count, Field(description="KEDA's floor (0: scale to zero).")]
    max_replicas: Annotated[Count, Field(description="KEDA's ceiling (pingvas:gpuWorkers).")]


class Worker(ReleaseWorker):
    termination_grace_period_seconds: Annotated[
        int, Field(ge=60, description="A job may take minutes; SIGTERM lets it finish.")
    ]
    metrics_port: Annotated[Port, Field(description="The worker's Prometheus metrics.")]
    resources: Annotated[Resources, Field(description="Per worker, with its one GPU.")]
    queue: Queue
    polling_interval: Annotated[Seconds, Field(description="KEDA's polling, in seconds.")]
    cooldown_period: Annotated[
        Seconds, Field(description="Idle seconds before scaling to the minimum.")
    ]
    batch_size: Annotated[
        int,
        Field(
            ge=1,
            le=16,
            description="Most images per pipeline call: queued jobs of one model, size, "
            "steps and guidance render together (WORKER_BATCH_SIZE).",
        ),
    ]
    compile: Compile


class ReleaseMigrations(_Values):
    enabled: Annotated[bool, Field(description="The pre-install/pre-upgrade hook Job.")]
    schema_owner_secret_arn: SecretArn | None = None


class Migrations(ReleaseMigrations):
    schema_owner_secret_arn: Annotated[
        OptionalSecretArn,
        Field(description="The environment's schema owner (never Aurora's master); required."),
    ]
    working_dir: Annotated[AbsolutePath, Field(description="Where alembic.ini is in the image.")]
    active_deadline_seconds: Annotated[
        Seconds, Field(description="The Job fails (and the release with it) after this.")
    ]
    backoff_limit: Annotated[Count, Field(description="Retries of a failed migration pod.")]


class ServiceMonitor(_Values):
    enabled: Annotated[
        bool, Field(description="Needs the Prometheus operator's CRDs on the cluster.")
    ]
    interval: Annotated[Duration, Field(description="Scrape interval (SPEC §7).")]


class Metrics(_Values):
    service_monitor: ServiceMonitor


class PodDisruptionBudget(_Values):
    max_unavailable: Annotated[
        IntOrPercentage, Field(description="Per service with more than one replica.")
    ]


class SecurityContext(_Values):
    run_as_user: Annotated[int, Field(ge=1, description="The images' non-root user.")]
    run_as_group: Annotated[int, Field(ge=1, description="Its group (and fsGroup).")]


class Toleration(_Values):
    key: Annotated[str, Field(min_length=1, description="The taint's key.")]
    operator: Annotated[Literal["Equal", "Exists"], Field(description="How it matches.")]
    value: Annotated[str, Field(description="The taint's value (empty with Exists).")]
    effect: Annotated[
        Literal["NoSchedule", "PreferNoSchedule", "NoExecute"],
        Field(description="The taint's effect."),
    ]


class Scheduling(_Values):
    node_selector: Annotated[
        dict[str, str],
        Field(description="Node labels every pod selects (the worker adds its GPU label)."),
    ]
    tolerations: Annotated[
        list[Toleration],
        Field(description="Taints every pod tolerates (the worker adds the GPU taint)."),
    ]


class ReleaseValues(_Values):
    """What the release sets, from the stack's outputs: its overrides of the chart's values
    (dumped with `overrides()`)."""

    chart_digest: Annotated[
        Digest, Field(description="Set by the release: any chart edit changes it, and so upgrades.")
    ]
    environment: Annotated[
        DnsLabel, Field(description="ENVIRONMENT of the app: the stack's name (labels, logs).")
    ]
    profile: Annotated[
        ValuesProfile,
        Field(description="PROFILE of the app: what kind of environment (prod's safety checks)."),
    ]
    priority_class_name: Annotated[
        OptionalDnsLabel, Field(description="The environment's PriorityClass; required.")
    ]
    scheduling: Annotated[
        Scheduling,
        Field(description="Where the pods run: a preview's, on the preview node pools."),
    ]
    image: ReleaseImages
    service_accounts: ServiceAccounts
    aws: Aws
    config: ReleaseConfig
    secrets: ReleaseSecrets
    redis: Redis
    models: ReleaseModels
    api: ReleaseApi
    ingress: ReleaseIngress
    worker: ReleaseWorker
    migrations: ReleaseMigrations

    def overrides(self) -> dict[str, Any]:
        """values.yaml's keys, leaving out what this release does not set."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class ChartValues(ReleaseValues):
    """Everything `app/chart` reads from `.Values`."""

    image: Images
    config: AppConfig
    secrets: Secrets
    models: Models
    api: Api
    ingress: Ingress
    worker: Worker
    migrations: Migrations
    metrics: Metrics
    pod_disruption_budget: PodDisruptionBudget
    security_context: SecurityContext
