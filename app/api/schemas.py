"""Shared request/response pieces."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, ConfigDict

T = TypeVar("T")


# Characters no text field takes: C0 controls but tab and newlines, DEL and the C1
# controls (PostgreSQL rejects NUL; none is ever meant), and the bidirectional embeddings,
# overrides and isolates, which make a prompt display differently from what it says
# (a gallery or an admin page would show it reordered).
_REFUSED = frozenset(
    {chr(code) for code in range(32) if chr(code) not in "\t\n\r"}
    | {chr(code) for code in range(0x7F, 0xA0)}
    | set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)


def printable(value: str) -> str:
    """Refuse (not strip: a prompt is rendered as sent) control and bidirectional
    formatting characters, and lone surrogates (JSON can escape them; UTF-8, and so
    PostgreSQL, cannot hold them)."""
    if any(char in _REFUSED for char in value):
        raise ValueError("control and bidirectional formatting characters are not allowed")
    if any("\ud800" <= char <= "\udfff" for char in value):
        raise ValueError("lone surrogates are not text")
    return value


def not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be only whitespace")
    return value


class RequestBody(BaseModel):
    """A JSON request body: strict types, so ``true`` is not the number 1 and ``"5"``
    not the number 5 (a float field still takes an integer)."""

    model_config = ConfigDict(strict=True)


PrintableText = Annotated[str, AfterValidator(printable)]
# A prompt: printable and not only whitespace.
PromptText = Annotated[str, AfterValidator(printable), AfterValidator(not_blank)]
Limit = Annotated[int, Query(ge=1, le=100, description="page size")]
Offset = Annotated[int, Query(ge=0, le=100_000, description="items to skip")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    limit: int
    offset: int
    next_offset: int | None


class ErrorOut(BaseModel):
    """Every error other than 422 validation errors: a human-readable message."""

    detail: str


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error statuses an operation may answer."""
    return {code: {"model": ErrorOut} for code in codes}


def invalid(*problems: tuple[tuple[str | int, ...], str]) -> RequestValidationError:
    """A 422 in FastAPI's own validation-error shape, for rules checked past the schema
    (a model that does not exist, a size above the tier's bound): clients parse one shape."""
    return RequestValidationError(
        [
            {"type": "value_error", "loc": loc, "msg": message, "input": None}
            for loc, message in problems
        ]
    )
