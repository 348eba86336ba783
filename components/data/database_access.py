"""One environment's access to its database (SPEC §4; Aurora, or a preview's own
PostgreSQL): its schema name, and for each of its two roles, the API's (`<schema>_app`)
and the GPU workers' (`<schema>_worker`, the one that may run `jobs_to_requeue()`;
app migration 0004), a Secrets Manager secret with the role's generated password and
the full connection settings for the writer and the reader.

The platform creates the schema and its owner (components/data/schema_owners.py); the
application's migration job, running as that owner, creates both roles with the
credentials this component holds. Consumers get a typed `DatabaseEndpoint`.

Every connection authenticates the server (issue 22): on Aurora, `sslmode=verify-full`
against RDS's CA bundle, which both images carry (app/certs/); always
`channel_binding=require`, so libpq completes SCRAM only bound to the TLS channel it
sees (SCRAM-SHA-256-PLUS), which a machine in the middle cannot forge without the
role's verifier, and refuses a server that asks for md5 or a clear password."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.endpoints import DatabaseEndpoint

_NOT_IDENTIFIER = re.compile(r"[^a-z0-9_]")
# Where the images hold app/certs/rds-global-bundle.pem (both COPY app to /app/app).
RDS_CA_BUNDLE = "/app/app/certs/rds-global-bundle.pem"


def schema_name(environment: str) -> str:
    """`dev` → `dev_pingvas`, `pr-7` → `pr_7_pingvas` (SPEC §4's scheme)."""
    return f"{_NOT_IDENTIFIER.sub('_', environment.lower())}_pingvas"


@dataclass
class DatabaseAccessArgs:
    environment: str
    secret_name: str  # the API role's secret
    worker_secret_name: str  # the GPU workers' role's secret
    writer_endpoint: pulumi.Input[str]
    reader_endpoint: pulumi.Input[str]
    port: pulumi.Input[int]
    database_name: pulumi.Input[str]
    # The platform's schema-owner secret for this environment, which its migrations use.
    owner_secret_arn: pulumi.Input[str] | None = None
    # Days a deleted secret can be restored; 0 deletes at once (ephemeral stacks).
    recovery_window_days: int = 7
    # The CA file (in the pods) that signs the server's certificate: verify-full against
    # it. None: the server's certificate is not checked (`require`), only bound to the
    # SCRAM exchange; a preview's own PostgreSQL (decision 0108).
    server_ca_file: str | None = RDS_CA_BUNDLE


class DatabaseAccess(pulumi.ComponentResource):
    schema: str
    role: str
    worker_role: str
    secret_arn: pulumi.Output[str]
    worker_secret_arn: pulumi.Output[str]
    endpoint: DatabaseEndpoint

    def __init__(
        self, name: str, args: DatabaseAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:data:DatabaseAccess", name, None, opts)
        self.schema = schema_name(args.environment)
        self.role = f"{self.schema}_app"
        self.worker_role = f"{self.schema}_worker"
        for role in (self.role, self.worker_role):
            if len(role) > 63:
                raise ValueError(f"{role!r} is longer than PostgreSQL's 63-character names")
        self.secret_arn = self._role_secret(name, args, args.secret_name, self.role)
        self.worker_secret_arn = self._role_secret(
            f"{name}-worker", args, args.worker_secret_name, self.worker_role
        )
        self.endpoint = DatabaseEndpoint(
            host=pulumi.Output.from_input(args.writer_endpoint),
            port=pulumi.Output.from_input(args.port),
            name=pulumi.Output.from_input(args.database_name),
            schema=self.schema,
            user=self.role,
            worker_user=self.worker_role,
            tls=True,  # Aurora refuses plain connections (rds.force_ssl)
            secret_arn=self.secret_arn,
            worker_secret_arn=self.worker_secret_arn,
            owner_secret_arn=(
                None
                if args.owner_secret_arn is None
                else pulumi.Output.from_input(args.owner_secret_arn)
            ),
        )
        self.register_outputs(
            {
                "schema": self.schema,
                "role": self.role,
                "secret_arn": self.secret_arn,
                "worker_role": self.worker_role,
                "worker_secret_arn": self.worker_secret_arn,
            }
        )

    def _role_secret(
        self, name: str, args: DatabaseAccessArgs, secret_name: str, role: str
    ) -> pulumi.Output[str]:
        """`role`'s generated password and its secret; returns the secret's ARN."""
        child = pulumi.ResourceOptions(parent=self)
        # Letters and digits only: the password sits in URLs unescaped by some clients.
        password = random.RandomPassword(f"{name}-password", length=40, special=False, opts=child)
        secret = aws.secretsmanager.Secret(
            name,
            name=secret_name,
            description=f"{args.environment}: PostgreSQL role {role}, schema {self.schema}",
            recovery_window_in_days=args.recovery_window_days,
            opts=child,
        )
        aws.secretsmanager.SecretVersion(
            name,
            secret_id=secret.id,
            secret_string=self._settings(args, role, pulumi.Output.secret(password.result)),
            opts=child,
        )
        return secret.arn

    def _settings(
        self, args: DatabaseAccessArgs, role: str, password: pulumi.Output[str]
    ) -> pulumi.Output[str]:
        """One JSON secret per role: the app's variables (DATABASE_URL, DATABASE_READ_URL,
        DB_SCHEMA; app/core/config.py), and the parts the migration hook connects with
        (app/chart/files/migrate.py)."""

        tls = tls_parameters(args.server_ca_file)

        def url(host: pulumi.Input[str]) -> pulumi.Output[str]:
            return pulumi.Output.format(
                "postgresql://{0}:{1}@{2}:{3}/{4}?{5}&options={6}",
                role,
                password,
                host,
                args.port,
                args.database_name,
                urlencode(tls),
                quote(f"-csearch_path={self.schema}"),
            )

        return pulumi.Output.secret(
            pulumi.Output.json_dumps(
                {
                    "DATABASE_URL": url(args.writer_endpoint),
                    "DATABASE_READ_URL": url(args.reader_endpoint),
                    "DB_SCHEMA": self.schema,
                    "DB_HOST": args.writer_endpoint,
                    "DB_PORT": args.port,
                    "DB_NAME": args.database_name,
                    "DB_USER": role,
                    "DB_PASSWORD": password,
                    # DB_SSLMODE, DB_CHANNEL_BINDING, DB_SSLROOTCERT: libpq's parameters,
                    # for the migration hook's connections.
                    **{f"DB_{name.upper()}": value for name, value in tls.items()},
                }
            )
        )


def tls_parameters(server_ca_file: str | None) -> dict[str, str]:
    """libpq's TLS and authentication parameters of every connection to the database."""
    if server_ca_file is None:
        return {"sslmode": "require", "channel_binding": "require"}
    return {
        "sslmode": "verify-full",
        "sslrootcert": server_ca_file,
        "channel_binding": "require",
    }
