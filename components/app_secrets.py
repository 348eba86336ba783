"""The application's secrets in Secrets Manager (SPEC §6): one secret per value, named
after the environment variable the app reads (app/core/config.py).

Signing secrets are generated here (pulumi-random) and never leave Pulumi's secret
state. Values only a human knows (payment and OAuth credentials) come from Pulumi
secret config; a secret whose value is not configured is created empty, for an
operator to fill in with `aws secretsmanager put-secret-value`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_random as random

GENERATED_LENGTH = 64


@dataclass
class AppSecretsArgs:
    # Secret names are `<name_prefix>-<variable in kebab case>`.
    name_prefix: str
    # Environment variable → value, or None when nobody has supplied it yet.
    supplied: Mapping[str, pulumi.Input[str] | None] = field(default_factory=dict)
    generated: Sequence[str] = ("JWT_SECRET", "SESSION_SECRET")
    recovery_window_days: int = 7  # 0 deletes at once (ephemeral stacks)


class AppSecrets(pulumi.ComponentResource):
    # Environment variable → ARN of the secret holding its value.
    secret_arns: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: AppSecretsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:secrets:AppSecrets", name, None, opts)
        self._name = name
        self._args = args
        overlap = set(args.generated) & set(args.supplied)
        if overlap:
            raise ValueError(f"AppSecretsArgs: both generated and supplied: {sorted(overlap)}")
        self.secret_arns = {}
        for variable in args.generated:
            value = random.RandomPassword(
                f"{name}-{self._slug(variable)}",
                length=GENERATED_LENGTH,
                special=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.secret_arns[variable] = self._secret(variable, value.result, "generated")
        for variable, supplied in args.supplied.items():
            self.secret_arns[variable] = self._secret(variable, supplied, "supplied by an operator")
        self.register_outputs({"secret_arns": self.secret_arns})

    @staticmethod
    def _slug(variable: str) -> str:
        return variable.lower().replace("_", "-")

    def _secret(
        self, variable: str, value: pulumi.Input[str] | None, origin: str
    ) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self)
        secret_name = f"{self._args.name_prefix}-{self._slug(variable)}"
        secret = aws.secretsmanager.Secret(
            f"{self._name}-{self._slug(variable)}",
            name=secret_name,
            description=f"{variable} for the pingvas app ({origin})",
            recovery_window_in_days=self._args.recovery_window_days,
            opts=child,
        )
        if value is not None:
            aws.secretsmanager.SecretVersion(
                f"{self._name}-{self._slug(variable)}",
                secret_id=secret.id,
                secret_string=pulumi.Output.secret(value),
                opts=child,
            )
        return secret.arn
