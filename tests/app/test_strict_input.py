"""Issue 25, items 5 and 6: bad input is a 4xx (never a 500), numbers and booleans are
typed strictly, prompts are normalised, and personal answers are never cached."""

from __future__ import annotations

import pytest

from app.core import logging as log_context
from tests.support.app import metric


@pytest.mark.parametrize(
    "request_id",
    [
        "é".encode(),  # UTF-8 of a non-ASCII character
        b"\xff\xfe\x00binary",
        "ünïcode-id".encode(),
        b"x" * 500,
    ],
)
def test_any_request_id_bytes_get_a_fresh_id_not_a_500(client, request_id):
    response = client.get("/api/models", headers={"X-Request-ID": request_id})
    assert response.status_code == 200, response.text
    echoed = response.headers["X-Request-ID"]
    assert echoed.isascii()
    assert echoed.isalnum()
    assert len(echoed) == 32


def test_a_well_formed_request_id_is_echoed(client):
    response = client.get("/healthz", headers={"X-Request-ID": "1-abc:def_1.2"})
    assert response.headers["X-Request-ID"] == "1-abc:def_1.2"


def test_a_5xx_raised_in_any_middleware_is_counted(make_client, monkeypatch):
    from fastapi.testclient import TestClient

    app = make_client().app
    unsafe = TestClient(app, raise_server_exceptions=False)

    def broken(_: object) -> bool:
        raise RuntimeError("a middleware's own bug")

    before = metric(unsafe.get("/metrics").text, "http_requests_total", status="500")
    monkeypatch.setattr(log_context, "_valid", broken)
    assert unsafe.get("/healthz").status_code == 500
    monkeypatch.undo()
    after = metric(unsafe.get("/metrics").text, "http_requests_total", status="500")
    assert after - before == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("steps", True),
        ("steps", "5"),
        ("width", "512"),
        ("num_images", False),
        ("seed", "42"),
        ("guidance_scale", True),
        ("guidance_scale", "7.5"),
        ("steps", 5.0),
    ],
)
def test_numbers_are_typed_strictly(client, user, field, value):
    body = {"prompt": "a cat", "model": "tiny-sd", field: value}
    response = client.post("/api/generations", headers=user.headers, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", field]


def test_a_float_field_still_takes_an_integer(client, user):
    body = {"prompt": "a cat", "model": "tiny-sd", "guidance_scale": 7, "steps": 5}
    assert client.post("/api/generations", headers=user.headers, json=body).status_code == 202


@pytest.mark.parametrize(
    "prompt",
    [
        "   \t\n ",  # whitespace only
        "a cat\x85",  # C1 (NEL)
        "a cat\x9b31m",  # C1 (CSI)
        "a cat\x7f",  # DEL
        "a cat\x1b[31m",  # C0 (ESC)
        "evil \u202etxt.exe",  # right-to-left override
        "a \u2066cat\u2069",  # isolates
    ],
)
def test_prompts_with_controls_bidi_or_only_whitespace_are_refused(client, user, prompt):
    body = {"prompt": prompt, "model": "tiny-sd"}
    response = client.post("/api/generations", headers=user.headers, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "prompt"]


def test_prompts_keep_newlines_tabs_and_any_script(client, user):
    prompt = "un chat\tnoir\n\u043a\u0456\u0442 \u732b \u0642\u0637\u0629"  # Cyrillic, CJK, Arabic
    body = {"prompt": prompt, "model": "tiny-sd"}
    assert client.post("/api/generations", headers=user.headers, json=body).status_code == 202


def test_redoc_is_not_served(client):
    assert client.get("/redoc").status_code == 404
    assert client.get("/api/docs").status_code == 200


def test_every_personal_answer_is_no_store(client, user):
    for path in ("/api/users/me", "/api/payments/ledger", "/api/generations", "/api/images"):
        response = client.get(path, headers=user.headers)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
    job = client.post(
        "/api/generations", headers=user.headers, json={"prompt": "a", "model": "tiny-sd"}
    ).json()["id"]
    one = client.get(f"/api/generations/{job}", headers=user.headers)
    assert one.headers["Cache-Control"] == "no-store"
    # Errors too (a 401 or 404 is about the caller as well).
    assert client.get("/api/users/me").headers["Cache-Control"] == "no-store"
