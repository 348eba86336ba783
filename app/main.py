"""Every service in one application: ``uvicorn app.main:app`` (local use and tests)."""

from __future__ import annotations

from app.factory import create_app
from app.services import all_routers

app = create_app(all_routers())
