"""One object per event loop: asyncio clients (redis.asyncio, psycopg's async
connections) belong to the loop that opened them. A server process has one loop; the
tests open several (one per TestClient)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerLoop(Generic[T]):
    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._values: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> T:
        """The running loop's object, made on first use."""
        loop = asyncio.get_running_loop()
        value = self._values.get(loop)
        if value is None:
            value = self._values[loop] = self._factory()
        return value

    def pop(self) -> T | None:
        """The running loop's object, no longer kept (for the caller to close)."""
        return self._values.pop(asyncio.get_running_loop(), None)

    def clear(self) -> None:
        """Forget every loop's object (their connections close when collected)."""
        self._values.clear()
