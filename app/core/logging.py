"""Structured logs: one JSON object per line on stdout, which Fluent Bit ships as is.

Every line carries `time`, `level`, `logger` and `message`, plus the request id, user id and
job id of whatever the code is doing, from context variables: the API sets the request id
(from the ALB's `X-Request-ID`, or a new one) and the user id; the job message carries the
request id to the worker, which sets it with the job id while it handles the job.
"""

from __future__ import annotations

import json
import logging
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
FIELDS = ("request_id", "user_id", "job_id")
# One dict per request or job. FastAPI runs sync dependencies and endpoints in threads on
# copies of the context: they share this dict, so a field one adds the others see.
_fields: ContextVar[dict[str, str] | None] = ContextVar("log_fields", default=None)
# An id from outside is echoed back only when it looks like one (no log injection).
_MAX_REQUEST_ID = 128


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = _fields.get() or {}
        for key in FIELDS:
            if key in fields:
                line[key] = fields[key]
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stdout for the whole process (uvicorn's loggers included)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


@contextmanager
def bound(**values: str | None) -> Iterator[None]:
    """Fields (request_id, user_id, job_id) on every line logged in the block."""
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown log fields: {sorted(unknown)}")
    merged = {**(_fields.get() or {}), **{k: v for k, v in values.items() if v is not None}}
    token = _fields.set(merged)
    try:
        yield
    finally:
        _fields.reset(token)


def annotate(**values: str) -> None:
    """Adds fields to the enclosing block's (the user id, once the request is
    authenticated): the rest of the request logs them too."""
    fields = _fields.get()
    if fields is not None:
        fields.update(values)


def current(field: str) -> str | None:
    return (_fields.get() or {}).get(field)


def _valid(candidate: str | None) -> bool:
    return (
        bool(candidate)
        and len(candidate or "") <= _MAX_REQUEST_ID
        and all(ch.isascii() and (ch.isalnum() or ch in "-_.:") for ch in candidate or "")
    )


class RequestIdMiddleware:
    """Binds a request id for the request's logs and returns it in `X-Request-ID`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Latin-1 decodes any bytes (a UTF-8 or binary header is then refused by _valid):
        # a client's header never raises here, outside every error handler.
        raw = dict(scope["headers"]).get(REQUEST_ID_HEADER.lower().encode(), b"")
        incoming = raw.decode("latin-1")
        value = incoming if _valid(incoming) else uuid.uuid4().hex

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = value
            await send(message)

        with bound(request_id=value):
            await self.app(scope, receive, send_with_id)
