"""Structured JSON logs: one object per line with time, level, logger and message, and the
request id (from X-Request-ID or new) and user id of the request that logged it."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from app.catalogue import ModelCatalogue
from app.core.logging import JsonFormatter, bound
from app.core.queue import JobMessage
from tests.support.app import JsonLines


@pytest.fixture
def json_lines() -> Iterator[JsonLines]:
    handler = JsonLines()
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def test_a_line_is_one_json_object_with_the_context(json_lines: JsonLines) -> None:
    log = logging.getLogger("pingvas.test")
    with bound(request_id="req-1", user_id="u-1"), bound(job_id="job-1"):
        log.warning("hello %s", "world")
    log.info("outside")
    inside, outside = json_lines.lines
    assert inside["message"] == "hello world"
    assert inside["level"] == "warning"
    assert inside["logger"] == "pingvas.test"
    assert str(inside["time"]).endswith("+00:00")
    assert (inside["request_id"], inside["user_id"], inside["job_id"]) == ("req-1", "u-1", "job-1")
    assert "request_id" not in outside


def test_exceptions_stay_on_one_line(json_lines: JsonLines) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("pingvas.test").exception("failed")
    formatted = JsonFormatter().format(
        logging.LogRecord("x", logging.ERROR, __file__, 1, "m", None, None)
    )
    assert "\n" not in formatted
    assert "ValueError: boom" in str(json_lines.lines[0]["exception"])


def test_the_request_id_is_echoed_or_made(client) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz").headers["X-Request-ID"]
    assert len(made) == 32
    hostile = client.get("/healthz", headers={"X-Request-ID": 'x"\n{"level":"fake"}'})
    assert hostile.headers["X-Request-ID"] != 'x"\n{"level":"fake"}'


def test_the_request_id_and_user_travel_into_the_job(
    client, make_user, json_lines, settings
) -> None:
    user = make_user(credits=100, tier="free")
    # A fresh catalogue scans MODELS_DIR inside the request, which logs (the session's
    # models include a broken manifest): a line the request is sure to write, whatever
    # ran before.
    client.app.state.context.catalogue = ModelCatalogue(settings.models_dir)
    response = client.post(
        "/api/generations",
        headers={**user.headers, "X-Request-ID": "trace-42"},
        json={"prompt": "m", "model": "tiny-sd"},
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    context = client.app.state.context
    entries = context.redis.xrange(context.queue.stream("free"))
    messages = [JobMessage.from_fields(fields) for _, fields in entries]
    (message,) = [m for m in messages if str(m.job_id) == job_id]
    assert message.request_id == "trace-42"
    request_lines = [line for line in json_lines.lines if line.get("request_id") == "trace-42"]
    assert request_lines, json_lines.lines
    assert any(line.get("user_id") == str(user.id) for line in request_lines)
