"""One environment's access to the shared Aurora database (SPEC §4): its schema name, its
application role's name, and a Secrets Manager secret with that role's generated
password and the full connection settings for the writer and the reader.

The platform creates the schema and its owner (components/data/schema_owners.py); the
application's migration job, running as that owner, creates the application role with
the credentials this component holds. Consumers get a typed `DatabaseEndpoint`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.endpoints import DatabaseEndpoint

_NOT_IDENTIFIER = re.compile(r"[^a-z0-9_]")


def schema_name(environment: str) -> str:
    """`dev` → `dev_pingvas`, `pr-7` → `pr_7_pingvas` (SPEC §4's scheme)."""
    return f"{_NOT_IDENTIFIER.sub('_', environment.lower())}_pingvas"


@dataclass
class DatabaseAccessArgs:
    environment: str
    secret_name: str
    writer_endpoint: pulumi.Input[str]
    reader_endpoint: pulumi.Input[str]
    port: pulumi.Input[int]
    database_name: pulumi.Input[str]
    # The platform's schema-owner secret for this environment, which its migrations use.
    owner_secret_arn: pulumi.Input[str] | None = None
    # Days a deleted secret can be restored; 0 deletes at once (ephemeral stacks).
    recovery_window_days: int = 7


class DatabaseAccess(pulumi.ComponentResource):
    schema: str
    role: str
    secret_arn: pulumi.Output[str]
    endpoint: DatabaseEndpoint

    def __init__(
        self, name: str, args: DatabaseAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:data:DatabaseAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.schema = schema_name(args.environment)
        self.role = f"{self.schema}_app"
        if len(self.role) > 63:
            raise ValueError(f"{self.role!r} is longer than PostgreSQL's 63-character names")

        # Letters and digits only: the password sits in URLs unescaped by some clients.
        password = random.RandomPassword(f"{name}-password", length=40, special=False, opts=child)
        secret = aws.secretsmanager.Secret(
            name,
            name=args.secret_name,
            description=f"{args.environment}: PostgreSQL role {self.role}, schema {self.schema}",
            recovery_window_in_days=args.recovery_window_days,
            opts=child,
        )
        aws.secretsmanager.SecretVersion(
            name,
            secret_id=secret.id,
            secret_string=self._settings(args, pulumi.Output.secret(password.result)),
            opts=child,
        )
        self.secret_arn = secret.arn
        self.endpoint = DatabaseEndpoint(
            host=pulumi.Output.from_input(args.writer_endpoint),
            port=pulumi.Output.from_input(args.port),
            name=pulumi.Output.from_input(args.database_name),
            schema=self.schema,
            user=self.role,
            tls=True,  # Aurora refuses plain connections (rds.force_ssl)
            secret_arn=secret.arn,
            owner_secret_arn=(
                None
                if args.owner_secret_arn is None
                else pulumi.Output.from_input(args.owner_secret_arn)
            ),
        )
        self.register_outputs(
            {"schema": self.schema, "role": self.role, "secret_arn": self.secret_arn}
        )

    def _settings(
        self, args: DatabaseAccessArgs, password: pulumi.Output[str]
    ) -> pulumi.Output[str]:
        """One JSON secret: the app's variables (DATABASE_URL, DATABASE_READ_URL, DB_SCHEMA;
        app/core/config.py), and the parts the migration hook connects with
        (app/chart/files/migrate.py)."""

        def url(host: pulumi.Input[str]) -> pulumi.Output[str]:
            return pulumi.Output.format(
                "postgresql://{0}:{1}@{2}:{3}/{4}?sslmode=require&options={5}",
                self.role,
                password,
                host,
                args.port,
                args.database_name,
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
                    "DB_USER": self.role,
                    "DB_PASSWORD": password,
                }
            )
        )
