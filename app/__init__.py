"""Pingvas application: the FastAPI services, shared core and migrations."""
