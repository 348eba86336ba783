"""Hostile input found by a black-box attack (issue 13, items 3 and 8): unbounded bodies
and malformed values must be refused with a 4xx JSON answer, never read whole or a 500.

Body limits are checked against a real uvicorn server over a socket, since the test
client buffers a request body before the application sees it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from app.devservers import free_port
from app.factory import create_app
from app.services import all_routers

CHUNK = b"x" * 65536


@pytest.fixture(scope="module")
def live_server(settings) -> Iterator[tuple[str, int]]:
    """The whole API under uvicorn, in this process, on a free port."""
    port = free_port()
    config = uvicorn.Config(
        create_app(all_routers(), settings=settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield "127.0.0.1", port
    server.should_exit = True
    thread.join(timeout=10)


def stream_chunked(
    address: tuple[str, int], path: str, headers: str, limit: int
) -> tuple[int, int]:
    """POST a chunked body of up to ``limit`` bytes; stop sending as soon as the server
    answers. Returns (status, bytes of body sent before the answer)."""
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            f"Transfer-Encoding: chunked\r\n{headers}\r\n".encode()
        )
        sent = 0
        sock.setblocking(False)
        answer = b""
        while sent < limit:
            with contextlib.suppress(BlockingIOError):
                answer += sock.recv(65536)
            if answer:
                break
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                time.sleep(0.01)
                continue
            sent += len(CHUNK)
        sock.setblocking(True)
        while b"\r\n" not in answer:
            answer += sock.recv(65536)
    return int(answer.split(b" ", 2)[1]), sent


def test_a_chunked_webhook_past_its_cap_is_413_without_being_read_whole(live_server):
    status, sent = stream_chunked(
        live_server, "/api/payments/webhook", "X-Signature: 00\r\n", limit=200 * 1024 * 1024
    )
    assert status == 413
    # Refused near the 256 KiB cap (plus what socket buffers took), not after 200 MiB.
    assert sent < 16 * 1024 * 1024


def test_any_route_refuses_a_chunked_body_past_the_default_cap(live_server, user):
    status, sent = stream_chunked(
        live_server,
        "/api/generations",
        f"Authorization: Bearer {user.token}\r\n",
        limit=200 * 1024 * 1024,
    )
    assert status == 413
    assert sent < 16 * 1024 * 1024


def test_an_unauthenticated_body_is_refused_before_it_is_read(live_server):
    # Only the start of a body that never ends: the 401 must not wait for the rest.
    with socket.create_connection(live_server, timeout=5) as sock:
        sock.sendall(
            b"POST /api/generations HTTP/1.1\r\nHost: test\r\n"
            b'Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n{"prompt": '
        )
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 401")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1]) == {"detail": "not authenticated"}


def test_a_declared_length_past_the_cap_is_413(client, user):
    response = client.post(
        "/api/generations", content=b"{" + b" " * 70_000 + b"}", headers=user.headers
    )
    # Refused from the header alone (Starlette's limit answers this one in plain text).
    assert response.status_code == 413


# Raw bodies, because Python's json module refuses to write NaN-free JSON of these.
MALFORMED = [
    ("/api/auth/dev-login", b'{"email": NaN}'),
    ("/api/auth/dev-login", b'{"email": "\\ud800@example.com"}'),
    ("/api/auth/dev-login", b'{"email": Infinity}'),
    ("/api/auth/refresh", b'{"refresh_token": 1e999}'),
    ("/api/auth/refresh", b'{"refresh_token": "\\udfff"}'),
    ("/api/generations", b'{"prompt": "x", "model": "tiny-sd", "guidance_scale": NaN}'),
    ("/api/generations", b'{"prompt": "\\ud800", "model": "tiny-sd"}'),
    ("/api/generations", b'{"prompt": "x", "model": "\\ud800"}'),
    ("/api/generations", b'{"prompt": "x", "model": "tiny-sd", "width": 1e999}'),
    ("/api/payments/checkout", b'{"variant": NaN}'),
]


@pytest.mark.parametrize(("path", "body"), MALFORMED)
def test_malformed_values_get_a_4xx_json_answer(client, user, path, body):
    response = client.post(
        path, content=body, headers={**user.headers, "Content-Type": "application/json"}
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/json"
    assert "detail" in response.json()


def test_validation_errors_do_not_echo_the_input(client):
    response = client.post("/api/auth/dev-login", json={"email": "not-an-address-" * 10})
    assert response.status_code == 422
    assert [set(problem) for problem in response.json()["detail"]] == [{"type", "loc", "msg"}]
    assert "not-an-address-not-an-address" not in response.text


def test_token_answers_are_not_cacheable_and_nothing_is_sniffed(client, user, make_client):
    login = client.post("/api/auth/dev-login", json={"email": user.email})
    refreshed = client.post("/api/auth/refresh", json={"refresh_token": user.refresh_token})
    for response in (login, refreshed):
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
    for response in (login, client.get("/api/models"), client.get("/healthz")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    # HSTS where the API is served over HTTPS only (deployed environments).
    assert "Strict-Transport-Security" not in login.headers
    deployed = make_client(environment="prod", profile="prod", auth_dev_login=False)
    assert deployed.get("/healthz").headers["Strict-Transport-Security"] == "max-age=31536000"
