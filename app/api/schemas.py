"""Shared request/response pieces."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel

T = TypeVar("T")


def printable(value: str) -> str:
    """Refuse control characters (PostgreSQL rejects NUL; the others are never meant) and
    lone surrogates (JSON can escape them; UTF-8, and so PostgreSQL, cannot hold them)."""
    if any(ord(char) < 32 and char not in "\t\n\r" for char in value):
        raise ValueError("control characters are not allowed")
    if any("\ud800" <= char <= "\udfff" for char in value):
        raise ValueError("lone surrogates are not text")
    return value


PrintableText = Annotated[str, AfterValidator(printable)]
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
