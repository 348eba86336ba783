"""The GPU worker: takes generation jobs from the tier streams, renders them with a
diffusers pipeline from ``MODELS_DIR``, stores the PNGs in S3 and the result in
PostgreSQL, and only then acknowledges the entry (``python -m app.worker``).

See ``docs/worker.md`` for the lifecycle and its guarantees."""
