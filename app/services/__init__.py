"""The five services (SPEC §3); each also runs alone from ``app.services.<name>.main``."""

from __future__ import annotations

from fastapi import APIRouter

SERVICE_PORTS = {"user": 8001, "payment": 8002, "generation": 8003, "gallery": 8004, "model": 8005}


def all_routers() -> list[APIRouter]:
    from app.services.gallery.router import router as gallery
    from app.services.generation.router import router as generation
    from app.services.model.router import router as model
    from app.services.payment.router import router as payment
    from app.services.user.router import auth_router, users_router

    return [auth_router, users_router, payment, generation, gallery, model]
