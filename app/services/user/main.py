"""User service alone: `uvicorn app.services.user.main:app --port 8001`."""

from __future__ import annotations

from app.factory import create_app
from app.services import SERVICE_PORTS
from app.services.user.router import auth_router, users_router

PORT = SERVICE_PORTS["user"]
app = create_app([auth_router, users_router], title="Pingvas User service")
