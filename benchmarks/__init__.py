"""Benchmark scripts (each runs on its own: `.venv/bin/python benchmarks/<name>.py`)."""
