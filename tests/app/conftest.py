"""Real PostgreSQL, Redis and moto servers for the application tests (one of each per
session), an application wired to them, and small factories (their data in
tests/support/app.py)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
import redis
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.storage import image_key
from app.devservers import (
    Database,
    MotoServer,
    RedisServer,
    free_port,
    provision_database,
    start_moto,
    start_postgres,
    start_redis,
)
from app.factory import create_app
from app.services import all_routers
from tests.support.app import (
    BUCKET,
    MODELS,
    PNG,
    SIGNUP_CREDITS,
    VARIANTS,
    FakeProviders,
    TestUser,
)


@pytest.fixture(scope="session", autouse=True)
def aws_environment() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            patch.setenv(name, "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        yield


@pytest.fixture(scope="session")
def database() -> Iterator[Database]:
    server = start_postgres()
    try:
        yield provision_database(server)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = start_redis()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture(scope="session")
def moto_server(aws_environment: None) -> Iterator[MotoServer]:
    server = start_moto()
    boto3.client("s3", endpoint_url=server.url, region_name="us-east-1").create_bucket(
        Bucket=BUCKET
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3(moto_server: MotoServer) -> Any:
    return boto3.client("s3", endpoint_url=moto_server.url, region_name="us-east-1")


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models")
    for model_id, manifest in MODELS.items():
        (root / model_id).mkdir()
        (root / model_id / "manifest.json").write_text(json.dumps(manifest))
    (root / "broken").mkdir()
    (root / "broken" / "manifest.json").write_text("{not json")
    (root / "no-manifest").mkdir()
    return root


@pytest.fixture(scope="session")
def providers() -> Iterator[FakeProviders]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fake = FakeProviders(url="", signing_key=key)

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length).decode()
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = raw
            path = self.path.split("?", 1)[0]
            fake.requests.append({"path": path, "headers": dict(self.headers), "body": body})
            status, answer = fake.answer(self.command, path)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()


@pytest.fixture(scope="session")
def settings(
    database: Database,
    redis_server: RedisServer,
    moto_server: MotoServer,
    models_dir: Path,
    providers: FakeProviders,
) -> Settings:
    return Settings(
        environment="test",
        database_url=database.app_url,
        db_schema=database.schema,
        redis_url=redis_server.url,
        s3_bucket=BUCKET,
        aws_region="us-east-1",
        aws_endpoint_url=moto_server.url,
        jwt_secret=secrets.token_urlsafe(48),
        session_secret=secrets.token_urlsafe(48),
        lemonsqueezy_webhook_secret=secrets.token_urlsafe(32),
        lemonsqueezy_api_key=secrets.token_urlsafe(32),
        lemonsqueezy_store_id="4242",
        lemonsqueezy_api_url=providers.url,
        lemonsqueezy_variants=VARIANTS,
        discord_client_id="discord-client",
        discord_client_secret=secrets.token_urlsafe(24),
        discord_api_url=f"{providers.url}/discord",
        google_client_id="google-client",
        google_client_secret=secrets.token_urlsafe(24),
        google_metadata_url=f"{providers.url}/google/.well-known/openid-configuration",
        models_dir=models_dir,
        auth_dev_login=True,
        signup_credits=SIGNUP_CREDITS,
        rate_limit_ip_per_minute=100_000,
        rate_limit_user_per_minute=100_000,
    )


@pytest.fixture(scope="session")
def make_client(settings: Settings) -> Iterator[Callable[..., TestClient]]:
    """Builds extra applications with changed settings (closed at session end)."""
    opened: list[TestClient] = []

    def build(**changes: Any) -> TestClient:
        app = create_app(all_routers(), settings=settings.model_copy(update=changes))
        client = TestClient(app)
        client.__enter__()
        opened.append(client)
        return client

    yield build
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture(scope="session")
def app(settings: Settings) -> FastAPI:
    return create_app(all_routers(), settings=settings)


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def send(client: TestClient, settings: Settings) -> Callable[..., Any]:
    """Posts a Lemon Squeezy webhook signed with the test secret (or ``signature``)."""

    assert settings.lemonsqueezy_webhook_secret is not None
    secret = settings.lemonsqueezy_webhook_secret.get_secret_value()

    def post(
        event: dict[str, Any], signature: str | bytes | None = None, raw: bytes | None = None
    ) -> Any:
        body = raw if raw is not None else json.dumps(event).encode()
        signed = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-Event-Name": event.get("meta", {}).get("event_name", ""),
        }
        headers["X-Signature"] = signed if signature is None else signature
        return client.post("/api/payments/webhook", content=body, headers=headers)

    return post


@pytest.fixture
def make_user(client: TestClient, owner: Callable[..., Any]) -> Callable[..., TestUser]:
    """A new user via the development login; ``credits``/``tier`` set as the owner."""

    def make(credits: int | None = None, tier: str | None = None) -> TestUser:
        email = f"user-{uuid.uuid4().hex[:12]}@example.com"
        response = client.post("/api/auth/dev-login", json={"email": email})
        assert response.status_code == 200, response.text
        body = response.json()
        me = client.get(
            "/api/users/me", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
        user = TestUser(
            uuid.UUID(me.json()["id"]), email, body["access_token"], body["refresh_token"]
        )
        if credits is not None and credits != SIGNUP_CREDITS:
            # Through the ledger, as an operator's grant would be, so balance == sum(ledger).
            owner(
                "WITH changed AS (UPDATE users SET credits = %s WHERE id = %s RETURNING credits)"
                " INSERT INTO credit_ledger (user_id, key, kind, amount, balance_after)"
                " SELECT %s, %s, 'grant', %s, credits FROM changed",
                (credits, user.id, user.id, f"grant:{uuid.uuid4()}", credits - SIGNUP_CREDITS),
            )
        if tier is not None:
            owner("UPDATE users SET tier = %s WHERE id = %s", (tier, user.id))
        return user

    return make


@pytest.fixture
def user(make_user: Callable[..., TestUser]) -> TestUser:
    return make_user()


@pytest.fixture(scope="session")
def owner(database: Database) -> Callable[..., list[tuple[Any, ...]]]:
    """Runs SQL as the schema owner (like the worker or an operator would, RLS bypassed)."""

    def run(query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(
            host="127.0.0.1",
            port=database.server.port,
            user="pingvas_owner",
            dbname=database.name,
            autocommit=True,
            options=f"-c search_path={database.schema}",
        ) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    return run


@pytest.fixture(scope="session")
def as_app_role(database: Database) -> Callable[..., Any]:
    """A connection as the application role (RLS applies), for direct SQL checks."""

    def connect() -> psycopg.Connection[Any]:
        return psycopg.connect(
            host="127.0.0.1",
            port=database.server.port,
            user="pingvas_app",
            dbname=database.name,
            options=f"-c search_path={database.schema}",
        )

    return connect


@pytest.fixture
def store_image(
    client: TestClient, owner: Callable[..., Any], s3: Any
) -> Callable[[TestUser], tuple[str, str]]:
    """What the GPU worker does: a finished job, its image in S3 and a row."""

    def store(user: TestUser) -> tuple[str, str]:
        job_id = client.post(
            "/api/generations", headers=user.headers, json={"prompt": "g", "model": "tiny-sd"}
        ).json()["id"]
        image_id = uuid.uuid4()
        key = image_key(image_id)
        s3.put_object(Bucket=BUCKET, Key=key, Body=PNG, ContentType="image/png")
        owner("UPDATE jobs SET status = 'running' WHERE id = %s", (job_id,))
        owner(
            "INSERT INTO images (id, user_id, job_id, s3_key, width, height)"
            " VALUES (%s, %s, %s, %s, 512, 512)",
            (image_id, user.id, job_id, key),
        )
        owner("UPDATE jobs SET status = 'succeeded' WHERE id = %s", (job_id,))
        return str(image_id), job_id

    return store
