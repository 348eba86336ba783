"""Smoke test of a deployed environment through its public API (cd-dev, cd-prod).

    python scripts/smoke_test.py https://api.dev.example.com --token "$SMOKE_TEST_TOKEN"

1. `GET /api/models` answers 200 with at least one model: the ALB, the routing and a
   service are up.
2. One generation: `POST /api/generations` as the smoke-test user (a bearer token for a
   user with credits), polled until it succeeds, then its first image is fetched and
   must be a PNG. GPU workers scale from zero, so the default wait is generous.

Exits 0 when both pass, 1 with the reason otherwise. Standard library only: CI runs it
from the infrastructure's environment.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from typing import Any

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TERMINAL = {"succeeded", "failed", "canceled"}  # app/models.py JobStatus


class SmokeTestFailed(Exception):
    pass


def request(url: str, token: str | None = None, body: Any = None, timeout: float = 30) -> bytes:
    headers = {"accept": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    if not url.startswith(("https://", "http://")):
        raise SmokeTestFailed(f"{url}: not an http(s) URL")
    http_request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 (checked above)
    try:
        with urllib.request.urlopen(http_request, timeout=timeout) as response:  # noqa: S310
            return response.read()  # type: ignore[no-any-return]
    except urllib.error.HTTPError as error:
        raise SmokeTestFailed(f"{url}: HTTP {error.code} {error.read()[:200]!r}") from None
    except urllib.error.URLError as error:
        raise SmokeTestFailed(f"{url}: {error.reason}") from None


def smoke_test(base_url: str, token: str, wait_seconds: float, poll_seconds: float) -> str:
    models = json.loads(request(f"{base_url}/api/models"))
    if not models:
        raise SmokeTestFailed("GET /api/models listed no model")
    model = models[0]
    job = json.loads(
        request(
            f"{base_url}/api/generations",
            token,
            {
                "prompt": "smoke test: a lighthouse at dusk",
                "model": model["id"],
                "width": model["default_width"],
                "height": model["default_height"],
                "steps": model["default_steps"],
                "seed": 42,
            },
        )
    )
    deadline = time.monotonic() + wait_seconds
    while True:
        state = json.loads(request(f"{base_url}/api/generations/{job['id']}", token))
        if state["status"] in TERMINAL:
            break
        if time.monotonic() > deadline:
            raise SmokeTestFailed(f"generation {job['id']} still {state['status']!r}")
        time.sleep(poll_seconds)
    if state["status"] != "succeeded":
        raise SmokeTestFailed(f"generation {job['id']} ended {state['status']!r}")
    image = request(state["images"][0]["url"])
    if not image.startswith(PNG_SIGNATURE):
        raise SmokeTestFailed(f"generation {job['id']}: its image is not a PNG")
    return f"ok: {base_url} serves {len(models)} models; generation {job['id']} made a PNG"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "base_url", help="the environment's public API, e.g. https://api.dev.example.com"
    )
    parser.add_argument("--token", required=True, help="bearer token of the smoke-test user")
    parser.add_argument("--wait", type=float, default=900, help="seconds to wait for the image")
    parser.add_argument("--poll", type=float, default=5, help="seconds between polls")
    args = parser.parse_args(argv)
    try:
        print(smoke_test(args.base_url.rstrip("/"), args.token, args.wait, args.poll))
    except SmokeTestFailed as error:
        print(f"smoke test failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
