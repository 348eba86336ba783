"""scripts/smoke_test.py against an HTTP server that answers as the public API does
(`/api/models`, `POST /api/generations`, its status, the image), run as cd-dev runs it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
MODEL = {
    "id": "tiny-sd",
    "name": "Tiny",
    "kind": "sd",
    "default_width": 128,
    "default_height": 128,
    "default_steps": 4,
    "description": "",
}


class Api(BaseHTTPRequestHandler):
    outcome = "succeeded"
    image = PNG
    polls = 0
    seen: ClassVar[list[tuple[str, str, str | None]]] = []

    def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.seen.append(("GET", self.path, self.headers.get("authorization")))
        if self.path == "/api/models":
            self._send(200, json.dumps([MODEL]).encode())
        elif self.path == "/api/generations/job-1":
            type(self).polls += 1
            status = "running" if self.polls < 2 else self.outcome
            assert isinstance(self.server, ThreadingHTTPServer)
            url = f"http://127.0.0.1:{self.server.server_port}/images/1.png"
            images = [{"id": "i1", "url": url}] if status == "succeeded" else []
            self._send(
                200, json.dumps({"id": "job-1", "status": status, "images": images}).encode()
            )
        elif self.path == "/images/1.png":
            self._send(200, self.image, "image/png")
        else:
            self._send(404, b'{"detail": "not found"}')

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.seen.append(("POST", self.path, self.headers.get("authorization")))
        if self.headers.get("authorization") != "Bearer smoke-token":
            self._send(401, b'{"detail": "unauthorised"}')
            return
        assert body["model"] == "tiny-sd"
        assert (body["width"], body["steps"]) == (128, 4)
        self._send(202, b'{"id": "job-1", "status": "queued", "cost": 1}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    Api.outcome, Api.image, Api.polls, Api.seen = "succeeded", PNG, 0, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


SMOKE_TOKEN = "smoke-token"


def smoke(base_url: str, token: str = SMOKE_TOKEN) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "scripts/smoke_test.py", base_url, "--token", token, "--poll", "0.05"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_passes_when_a_generation_makes_a_png(api: str) -> None:
    result = smoke(api)
    assert result.returncode == 0, result.stderr
    assert "generation job-1 made a PNG" in result.stdout
    assert ("POST", "/api/generations", "Bearer smoke-token") in Api.seen
    assert Api.polls == 2


def test_fails_on_a_failed_generation(api: str) -> None:
    Api.outcome = "failed"
    result = smoke(api)
    assert result.returncode == 1
    assert "generation job-1 ended 'failed'" in result.stderr


def test_fails_when_the_image_is_not_a_png(api: str) -> None:
    Api.image = b"<html>error</html>"
    result = smoke(api)
    assert result.returncode == 1
    assert "not a PNG" in result.stderr


def test_fails_with_the_status_when_the_token_is_refused(api: str) -> None:
    result = smoke(api, token="wrong")
    assert result.returncode == 1
    assert "HTTP 401" in result.stderr


def test_fails_when_nothing_answers() -> None:
    result = smoke("http://127.0.0.1:9")
    assert result.returncode == 1
    assert "smoke test failed" in result.stderr
