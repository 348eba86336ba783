"""Gallery service alone: `uvicorn app.services.gallery.main:app --port 8004`."""

from __future__ import annotations

from app.factory import create_app
from app.services import SERVICE_PORTS
from app.services.gallery.router import router

PORT = SERVICE_PORTS["gallery"]
app = create_app([router], title="Pingvas Gallery service")
