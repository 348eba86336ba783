"""Helpers the tests share: plain functions and data, imported by name. The conftest
modules hold only fixtures (which may call these)."""
