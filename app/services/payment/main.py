"""Payment service alone: `uvicorn app.services.payment.main:app --port 8002`."""

from __future__ import annotations

from app.factory import create_app
from app.services import SERVICE_PORTS
from app.services.payment.router import router

PORT = SERVICE_PORTS["payment"]
app = create_app([router], title="Pingvas Payment service")
