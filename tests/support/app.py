"""What the application tests share: the test deployment's settings data, the fake sign-in
and payment providers, the users the tests make, and checks on the ledger and on 422s."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from jwt.algorithms import RSAAlgorithm

from app.core.logging import JsonFormatter

BUCKET = "pingvas-test-images"
SIGNUP_CREDITS = 50
VARIANTS = {"credits-100": "101", "credits-500": "105", "basic": "201", "pro": "301"}
MODELS = {
    "tiny-sd": {
        "name": "Tiny SD",
        "kind": "stable-diffusion",
        "default_width": 512,
        "default_height": 512,
        "default_steps": 25,
    },
    "sdxl-base": {
        "name": "SDXL base",
        "kind": "sdxl",
        "default_width": 1024,
        "default_height": 1024,
        "default_steps": 30,
    },
}


@dataclass
class FakeProviders:
    """Stand-ins for Lemon Squeezy's API and the Google and Discord sign-in endpoints, on a
    real socket. Records what it receives; tests set the profile it hands out."""

    url: str
    signing_key: Any
    requests: list[dict[str, Any]] = field(default_factory=list)
    discord_profile: dict[str, Any] = field(default_factory=dict)
    google_claims: dict[str, Any] = field(default_factory=dict)

    def id_token(self, client_id: str) -> str:
        now = int(time.time())
        claims = {"iss": f"{self.url}/google", "aud": client_id, "iat": now, "exp": now + 300}
        claims.update(self.google_claims)
        return jwt.encode(claims, self.signing_key, algorithm="RS256", headers={"kid": "k1"})

    def answer(self, method: str, path: str) -> tuple[int, dict[str, Any]]:
        base = f"{self.url}/google"
        if method == "POST" and path == "/v1/checkouts":
            attributes = {"url": "https://pay.example/c-1"}
            return 201, {"data": {"type": "checkouts", "id": "c-1", "attributes": attributes}}
        if method == "POST" and path == "/discord/oauth2/token":
            return 200, {"access_token": "discord-token", "token_type": "Bearer", "expires_in": 600}
        if method == "GET" and path == "/discord/users/@me":
            return 200, self.discord_profile
        if method == "GET" and path == "/google/.well-known/openid-configuration":
            return 200, {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/jwks",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        if method == "GET" and path == "/google/jwks":
            public = json.loads(RSAAlgorithm.to_jwk(self.signing_key.public_key()))
            return 200, {"keys": [{**public, "kid": "k1", "alg": "RS256", "use": "sig"}]}
        if method == "POST" and path == "/google/token":
            token = self.id_token("google-client")
            return 200, {
                "access_token": "g",
                "token_type": "Bearer",
                "expires_in": 600,
                "id_token": token,
            }
        return 404, {"error": "not found"}


@dataclass
class TestUser:
    id: uuid.UUID
    email: str
    token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def balance_and_ledger(owner: Callable[..., Any], user_id: uuid.UUID) -> tuple[int, int, int]:
    """(balance, sum of ledger amounts, number of ledger rows)."""
    balance = owner("SELECT credits FROM users WHERE id = %s", (user_id,))[0][0]
    total, rows = owner(
        "SELECT coalesce(sum(amount), 0), count(*) FROM credit_ledger WHERE user_id = %s",
        (user_id,),
    )[0]
    return balance, int(total), rows


def problems(response: Any) -> str:
    """The messages of a 422 answer (FastAPI's validation-error list), joined."""
    detail = response.json()["detail"]
    assert isinstance(detail, list), detail
    return " | ".join(f"{'.'.join(map(str, item['loc']))}: {item['msg']}" for item in detail)


PNG = b"\x89PNG\r\n\x1a\n" + b"pixels" * 10


class JsonLines(logging.Handler):
    """Keeps what the application logs, each line parsed back from its JSON."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


def metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        sample = line.startswith((name + "{", name + " "))
        if sample and all(f'{key}="{value}"' in line for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
