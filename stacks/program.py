"""The Pulumi program: validate the stack's config, then build its role's stack."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from infra.config import Role, StackConfig
from stacks import environment, platform
from stacks.release_fit import checked_stack_config


def config_from_runtime() -> StackConfig:
    """The running stack's config, as the Pulumi engine passed it to this process."""
    raw: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = {key for key in raw if runtime_config.is_config_secret(key)}
    secret_keys.update(runtime_config.get_config_secret_keys_env())
    return checked_stack_config(pulumi.get_stack(), raw, secret_keys)


def run(config: StackConfig) -> None:
    if config.role is Role.PLATFORM:
        platform.main(config)
    else:
        environment.main(config)
