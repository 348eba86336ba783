"""One settings object, read from environment variables and validated at start.

Outside ``PROFILE=development`` placeholder or short secrets are refused, so a
deployment that forgot to wire a secret fails at start-up instead of running with it.
``ENVIRONMENT`` only names the stack (labels, logs); ``PROFILE`` says what kind it is, so a
prod-profile ``staging`` gets prod's checks (the chart sets both).

Secrets arrive as environment variables too: External Secrets copies them from Secrets
Manager into Kubernetes Secrets the pods read (app/chart/templates/external-secrets.yaml),
so the app itself never calls Secrets Manager.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

PLACEHOLDER_SECRETS = frozenset({"", "changethis", "changeme", "secret", "placeholder", "todo"})
SIGNING_SECRET_MIN_LENGTH = 32
# Lemon Squeezy takes a signing secret of 6 to 40 characters: the upper end's range.
WEBHOOK_SECRET_MIN_LENGTH = 32
# ENVIRONMENT is a stack's name: a DNS-1123 label, as a namespace is.
ENVIRONMENT_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
PREVIEW_PATTERN = re.compile(r"^pr-\d+$")
# development and test run outside any stack; the rest are infra/config/profiles.py's.
Profile = Literal["development", "test", "dev", "prod", "ephemeral"]
# Without PROFILE, the environments whose kind their name says.
NAMED_PROFILES: frozenset[str] = frozenset({"development", "test", "dev", "prod"})
Tier = Literal["free", "basic", "pro"]


def normalise_database_url(url: str) -> str:
    """Make plain ``postgresql://`` URLs use the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class DatabaseSettings(BaseSettings):
    """The subset migrations need (``alembic upgrade head`` runs with only these)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment variables only: no .env files.
        return init_settings, env_settings

    database_url: str = Field(description="Writer (or owner, for migrations) connection URL")
    db_schema: str = Field(default="dev_pingvas", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    db_app_role: str | None = Field(
        default=None,
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="Role the API connects as; migrations grant it table rights (RLS applies)",
    )
    db_worker_role: str | None = Field(
        default=None,
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="Role the GPU workers connect as: the API role's rights plus the queue "
        "recovery function, which the API role then loses (migration 0004)",
    )

    @field_validator("database_url")
    @classmethod
    def _psycopg_driver(cls, value: str) -> str:
        return normalise_database_url(value)


class Settings(DatabaseSettings):
    environment: str = "development"
    # Derived from ENVIRONMENT when unset (see _derive_profile).
    profile: Profile = "development"
    database_read_url: str | None = None
    # Per process, writer and reader each; overflow allows as many again for bursts.
    db_pool_size: int = Field(default=10, ge=1, le=100)
    db_pool_timeout_seconds: float = Field(default=10, gt=0, le=60)
    redis_url: str = "redis://localhost:6379/0"
    # The cluster protocol (ElastiCache Serverless): app/core/redis_clients.py.
    redis_cluster: bool = False

    s3_bucket: str = "pingvas-dev-images"
    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = None
    # The image CDN (https://<alias>): its URLs are signed with this CloudFront key pair,
    # live as long as presigned S3 URLs do, and a deleted image's path is invalidated on
    # the distribution. Without IMAGE_BASE_URL the app presigns S3 URLs.
    image_base_url: str | None = None
    image_url_ttl_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    cloudfront_key_pair_id: str | None = None
    cloudfront_private_key: SecretStr | None = None
    cloudfront_distribution_id: str | None = None

    jwt_secret: SecretStr = SecretStr("changethis")
    session_secret: SecretStr = SecretStr("changethis")
    access_token_minutes: int = Field(default=30, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=14, ge=1, le=90)

    # Unset: payments are off in this environment (checkout and webhook answer 503), as in
    # a pr-<N> preview nobody gives credentials to. prod refuses to start without them.
    lemonsqueezy_webhook_secret: SecretStr | None = None
    lemonsqueezy_api_key: SecretStr | None = None
    lemonsqueezy_store_id: str = ""
    # Events from a store in test mode credit nothing unless this store is in test mode.
    lemonsqueezy_test_mode: bool = False
    lemonsqueezy_api_url: str = "https://api.lemonsqueezy.com"
    # Product name (as the API's clients name it) -> Lemon Squeezy variant id, as JSON.
    lemonsqueezy_variants: dict[str, str] = Field(default_factory=dict)

    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    google_metadata_url: str = "https://accounts.google.com/.well-known/openid-configuration"
    discord_client_id: str | None = None
    discord_client_secret: SecretStr | None = None
    discord_api_url: str = "https://discord.com/api"

    models_dir: Path = Path("/models")
    auth_dev_login: bool = False
    signup_credits: int = Field(default=50, ge=0)

    rate_limit_ip_per_minute: int = Field(default=600, ge=1)
    rate_limit_user_per_minute: int = Field(default=120, ge=1)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("database_read_url")
    @classmethod
    def _reader_driver(cls, value: str | None) -> str | None:
        return normalise_database_url(value) if value else None

    @field_validator("environment")
    @classmethod
    def _known_environment(cls, value: str) -> str:
        if not ENVIRONMENT_PATTERN.match(value):
            raise ValueError("ENVIRONMENT must be a DNS label: a stack's name")
        return value

    @model_validator(mode="before")
    @classmethod
    def _derive_profile(cls, data: object) -> object:
        """Without PROFILE, the kind ENVIRONMENT's name says (pr-<N> is ephemeral); any
        other name must say its kind, as its stack does (`pingvas:profile`)."""
        if not isinstance(data, dict) or data.get("profile") is not None:
            return data
        environment = data.get("environment", "development")
        if not isinstance(environment, str) or not ENVIRONMENT_PATTERN.match(environment):
            return data  # _known_environment refuses it, naming ENVIRONMENT
        if PREVIEW_PATTERN.match(environment):
            return {**data, "profile": "ephemeral"}
        if environment in NAMED_PROFILES:
            return {**data, "profile": environment}
        raise ValueError(f"ENVIRONMENT={environment} needs PROFILE (dev, prod or ephemeral)")

    @model_validator(mode="after")
    def _refuse_unsafe_configuration(self) -> Settings:
        if self.profile == "prod" and self.auth_dev_login:
            raise ValueError("AUTH_DEV_LOGIN=true is refused when PROFILE=prod")
        signing_key = self.cloudfront_key_pair_id and self.cloudfront_private_key
        if self.image_base_url and not signing_key:
            # The CDN serves signed URLs only: unsigned ones would all be 403.
            raise ValueError(
                "IMAGE_BASE_URL needs CLOUDFRONT_KEY_PAIR_ID and CLOUDFRONT_PRIVATE_KEY"
            )
        if self.is_development:
            return self
        if self.profile == "prod" and not self.payments_configured:
            raise ValueError(
                "LEMONSQUEEZY_API_KEY and LEMONSQUEEZY_WEBHOOK_SECRET are required when "
                "PROFILE=prod"
            )
        if self.profile == "prod" and self.lemonsqueezy_test_mode:
            # Test-mode events would credit real accounts for payments nobody made.
            raise ValueError("LEMONSQUEEZY_TEST_MODE=true is refused when PROFILE=prod")
        secrets = {
            "JWT_SECRET": self.jwt_secret,
            "SESSION_SECRET": self.session_secret,
            "LEMONSQUEEZY_WEBHOOK_SECRET": self.lemonsqueezy_webhook_secret,
            "LEMONSQUEEZY_API_KEY": self.lemonsqueezy_api_key,
            "GOOGLE_CLIENT_SECRET": self.google_client_secret,
            "DISCORD_CLIENT_SECRET": self.discord_client_secret,
        }
        for name, secret in secrets.items():
            if secret is not None and secret.get_secret_value().lower() in PLACEHOLDER_SECRETS:
                raise ValueError(f"{name} is a placeholder; set a real secret")
        for name in ("JWT_SECRET", "SESSION_SECRET"):
            secret = secrets[name]
            assert secret is not None
            if len(secret.get_secret_value()) < SIGNING_SECRET_MIN_LENGTH:
                raise ValueError(f"{name} must be at least {SIGNING_SECRET_MIN_LENGTH} characters")
        webhook_secret = self.lemonsqueezy_webhook_secret
        if webhook_secret and len(webhook_secret.get_secret_value()) < WEBHOOK_SECRET_MIN_LENGTH:
            # Anyone who guesses it can sign events that credit any account.
            raise ValueError(
                f"LEMONSQUEEZY_WEBHOOK_SECRET must be at least {WEBHOOK_SECRET_MIN_LENGTH}"
                " characters"
            )
        return self

    @property
    def payments_configured(self) -> bool:
        return (
            self.lemonsqueezy_api_key is not None and self.lemonsqueezy_webhook_secret is not None
        )

    @property
    def is_development(self) -> bool:
        return self.profile == "development"

    @property
    def secure_cookies(self) -> bool:
        return self.profile not in {"development", "test"}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
