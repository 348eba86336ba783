"""Model service alone: `uvicorn app.services.model.main:app --port 8005`."""

from __future__ import annotations

from app.factory import create_app
from app.services import SERVICE_PORTS
from app.services.model.router import router

PORT = SERVICE_PORTS["model"]
app = create_app([router], title="Pingvas Model service")
