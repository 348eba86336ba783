"""Settings from the environment, start-up refusals, the entry points and migrations."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from pydantic import ValidationError

from app.core import config
from app.core.config import Settings
from app.core.database import MIGRATIONS_DIR
from app.services import SERVICE_PORTS

REPO = Path(__file__).resolve().parents[2]
STRONG = "x" * 40
SERVICE_PATHS = {
    "user": {"/api/auth/dev-login", "/api/users/me"},
    "payment": {"/api/payments/webhook", "/api/payments/ledger"},
    "generation": {"/api/generations", "/api/generations/{job_id}"},
    "gallery": {"/api/images", "/api/images/{image_id}"},
    "model": {"/api/models", "/api/models/{model_id}"},
}


@pytest.fixture
def environment(monkeypatch, settings):
    """A complete environment for a non-development deployment."""
    values = {
        "ENVIRONMENT": "dev",
        "DATABASE_URL": settings.database_url.replace("postgresql+psycopg://", "postgresql://"),
        "DB_SCHEMA": settings.db_schema,
        "REDIS_URL": settings.redis_url,
        "S3_BUCKET": settings.s3_bucket,
        "AWS_ENDPOINT_URL": settings.aws_endpoint_url or "",
        "JWT_SECRET": STRONG,
        "SESSION_SECRET": STRONG,
        "LEMONSQUEEZY_WEBHOOK_SECRET": "whsec-" + "w" * 34,
        "LEMONSQUEEZY_API_KEY": "key-real-value",
        "LEMONSQUEEZY_VARIANTS": '{"pro": "301"}',
        "MODELS_DIR": str(settings.models_dir),
        "CORS_ORIGINS": "https://app.example, https://admin.example",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    config.get_settings.cache_clear()
    yield values
    config.get_settings.cache_clear()


def test_settings_come_from_the_environment(environment):
    settings = config.get_settings()
    assert settings.environment == "dev"
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.lemonsqueezy_variants == {"pro": "301"}
    assert settings.cors_origins == ["https://app.example", "https://admin.example"]
    assert settings.jwt_secret.get_secret_value() == STRONG
    assert STRONG not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("JWT_SECRET", "changethis", "JWT_SECRET is a placeholder"),
        ("SESSION_SECRET", "short-but-not-placeholder", "SESSION_SECRET must be at least 32"),
        ("LEMONSQUEEZY_WEBHOOK_SECRET", "changeme", "LEMONSQUEEZY_WEBHOOK_SECRET is a placeholder"),
        ("LEMONSQUEEZY_WEBHOOK_SECRET", "k", "LEMONSQUEEZY_WEBHOOK_SECRET must be at least 32"),
        ("ENVIRONMENT", "Staging_1", "ENVIRONMENT must be a DNS label"),
        ("ENVIRONMENT", "staging", "ENVIRONMENT=staging needs PROFILE"),
        ("PROFILE", "production", "profile"),
        ("DB_SCHEMA", "dev; DROP TABLE users", "db_schema"),
    ],
)
def test_unsafe_settings_are_refused_at_start(environment, monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=message):
        config.get_settings()


def test_a_missing_secret_is_refused_outside_development(environment, monkeypatch):
    monkeypatch.delenv("JWT_SECRET")
    with pytest.raises(ValidationError, match="JWT_SECRET is a placeholder"):
        config.get_settings()


def test_payments_are_off_without_credentials_but_prod_refuses_to_start(environment, monkeypatch):
    for name in ("LEMONSQUEEZY_API_KEY", "LEMONSQUEEZY_WEBHOOK_SECRET"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("ENVIRONMENT", "pr-7")  # a preview: nobody gives it credentials
    assert config.get_settings().payments_configured is False
    config.get_settings.cache_clear()
    monkeypatch.setenv("ENVIRONMENT", "prod")
    with pytest.raises(ValidationError, match="LEMONSQUEEZY_API_KEY and LEMONSQUEEZY_WEBHOOK"):
        config.get_settings()


def test_dev_login_is_refused_in_prod(environment, monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "prod")
    monkeypatch.setenv("AUTH_DEV_LOGIN", "true")
    with pytest.raises(ValidationError, match="AUTH_DEV_LOGIN=true is refused when PROFILE=prod"):
        config.get_settings()
    monkeypatch.setenv("AUTH_DEV_LOGIN", "false")
    assert config.get_settings().environment == "prod"


def test_payment_test_mode_is_refused_in_prod(environment, monkeypatch):
    monkeypatch.setenv("LEMONSQUEEZY_TEST_MODE", "true")
    assert config.get_settings().lemonsqueezy_test_mode is True  # dev may test payments
    config.get_settings.cache_clear()
    monkeypatch.setenv("ENVIRONMENT", "prod")
    with pytest.raises(ValidationError, match="LEMONSQUEEZY_TEST_MODE=true is refused"):
        config.get_settings()


def test_a_prod_profile_stack_of_another_name_gets_prods_checks(environment, monkeypatch):
    """A `staging` stack with `pingvas:profile: prod`: ENVIRONMENT names it, PROFILE
    makes it prod."""
    monkeypatch.setenv("ENVIRONMENT", "staging")
    monkeypatch.setenv("PROFILE", "prod")
    settings = config.get_settings()
    assert (settings.environment, settings.profile) == ("staging", "prod")
    assert settings.secure_cookies
    config.get_settings.cache_clear()
    monkeypatch.setenv("LEMONSQUEEZY_TEST_MODE", "true")
    with pytest.raises(ValidationError, match="LEMONSQUEEZY_TEST_MODE=true is refused"):
        config.get_settings()
    monkeypatch.setenv("LEMONSQUEEZY_TEST_MODE", "false")
    monkeypatch.delenv("LEMONSQUEEZY_API_KEY")
    with pytest.raises(ValidationError, match="LEMONSQUEEZY_API_KEY and LEMONSQUEEZY_WEBHOOK"):
        config.get_settings()


def test_a_dev_profile_stack_of_another_name_starts(environment, monkeypatch):
    for name in ("LEMONSQUEEZY_API_KEY", "LEMONSQUEEZY_WEBHOOK_SECRET"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("ENVIRONMENT", "staging")
    monkeypatch.setenv("PROFILE", "dev")
    monkeypatch.setenv("LEMONSQUEEZY_TEST_MODE", "true")
    settings = config.get_settings()
    assert (settings.environment, settings.profile) == ("staging", "dev")
    assert settings.payments_configured is False


@pytest.mark.parametrize(
    ("environment", "profile"),
    [
        ("development", "development"),
        ("test", "test"),
        ("dev", "dev"),
        ("prod", "prod"),
        ("pr-7", "ephemeral"),
    ],
)
def test_without_profile_the_environments_name_says_it(environment, profile):
    settings = Settings(
        environment=environment,
        database_url="postgresql://localhost/db",
        jwt_secret=STRONG,
        session_secret=STRONG,
        lemonsqueezy_api_key="key-real-value",
        lemonsqueezy_webhook_secret="whsec-" + "w" * 34,
    )
    assert settings.profile == profile


def test_development_accepts_placeholders():
    settings = Settings(
        environment="development", database_url="postgresql://localhost/db", auth_dev_login=True
    )
    assert settings.jwt_secret.get_secret_value() == "changethis"


def _fresh_import(module: str):
    sys.modules.pop(module, None)
    return importlib.import_module(module)


def test_app_main_composes_every_service(environment):
    app = _fresh_import("app.main").app
    paths = set(app.openapi()["paths"])
    assert set().union(*SERVICE_PATHS.values()) <= paths
    assert {"/healthz", "/readyz", "/metrics"} <= paths


@pytest.mark.parametrize("service", sorted(SERVICE_PATHS))
def test_each_service_runs_alone(environment, service):
    module = _fresh_import(f"app.services.{service}.main")
    paths = set(module.app.openapi()["paths"])
    assert SERVICE_PATHS[service] <= paths
    assert {"/healthz", "/readyz", "/metrics"} <= paths
    for other, other_paths in SERVICE_PATHS.items():
        if other != service:
            assert not other_paths & paths, f"{service} should not serve {other}"
    port = module.PORT
    assert port == SERVICE_PORTS[service]


def test_alembic_upgrade_head_from_the_repo_root(database, owner):
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": database.owner_url,
        "DB_SCHEMA": "prod_pingvas",
        "DB_APP_ROLE": "pingvas_app",
    }
    for _ in range(2):  # the second run finds nothing to do
        result = subprocess.run(
            [sys.executable, "-m", "alembic", "upgrade", "head"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
    tables = owner(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'prod_pingvas' ORDER BY tablename"
    )
    assert [name for (name,) in tables] == [
        "alembic_version",
        "auth_sessions_revoked",
        "credit_ledger",
        "images",
        "jobs",
        "payment_events",
        "payments",
        "refresh_tokens_used",
        "subscription_plans",
        "subscriptions",
        "users",
    ]
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert owner("SELECT version_num FROM prod_pingvas.alembic_version") == [(head,)]


def test_secrets_arrive_as_variables_and_secrets_manager_is_never_read(environment, monkeypatch):
    """The chart hands every secret over as a variable (External Secrets → Kubernetes
    Secret → env): a stray secret id changes nothing and calls no AWS endpoint."""
    monkeypatch.setenv("SECRETS_MANAGER_SECRET_ID", "pingvas/does-not-exist")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("DATABASE_READ_URL", "postgresql://reader@replica:5432/pingvas_saas")

    settings = config.get_settings()

    assert settings.jwt_secret.get_secret_value() == STRONG
    assert settings.database_read_url == "postgresql+psycopg://reader@replica:5432/pingvas_saas"
    assert settings.redis_url == environment["REDIS_URL"]
