"""What one generation renders: one type from the API request to the pipeline.

The API validates a request into it (``app.services.generation.router``), the job row
stores it (``app.store.jobs``), the queue message carries it (``app.core.queue``), the
recovering worker reads it back from the row, and the worker renders it
(``app.worker.pipelines``). None of them lists the fields again: they go through
:meth:`GenerationParams.to_fields`, :meth:`GenerationParams.from_fields` and
:meth:`GenerationParams.from_row`, which follow the declaration below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, get_type_hints


@dataclass(frozen=True)
class GenerationParams:
    # The order is that of the queue message's fields (version 1).
    model: str
    prompt: str
    # "" when the request gave none (the job row holds NULL then).
    negative_prompt: str
    width: int
    height: int
    steps: int
    guidance_scale: float
    seed: int
    num_images: int

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The field names, in order."""
        return tuple(_PARSERS)

    def to_fields(self) -> dict[str, str]:
        """The queue message's fields: every value a string (``str`` of a float
        round-trips it exactly)."""
        return {name: str(value) for name, value in asdict(self).items()}

    @classmethod
    def from_fields(cls, message: Mapping[str, str]) -> GenerationParams:
        """Parse :meth:`to_fields`' output; KeyError or ValueError when a field is missing
        or malformed."""
        return cls(**{name: parse(message[name]) for name, parse in _PARSERS.items()})

    def to_columns(self) -> dict[str, Any]:
        """The job row's columns; no negative prompt is NULL there."""
        return {**asdict(self), "negative_prompt": self.negative_prompt or None}

    @classmethod
    def from_row(cls, row: Any) -> GenerationParams:
        """From anything with the fields as attributes: a row of ``jobs_to_requeue()``,
        which gives a NULL negative prompt as ""."""
        return cls(**{name: getattr(row, name) for name in _PARSERS})


# Each field's type parses its message string: str, int or float.
_PARSERS: dict[str, Callable[[str], Any]] = {
    field.name: get_type_hints(GenerationParams)[field.name] for field in fields(GenerationParams)
}
