"""Generation service alone: `uvicorn app.services.generation.main:app --port 8003`."""

from __future__ import annotations

from app.factory import create_app
from app.services import SERVICE_PORTS
from app.services.generation.router import router

PORT = SERVICE_PORTS["generation"]
app = create_app([router], title="Pingvas Generation service")
