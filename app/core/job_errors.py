"""Why a job failed, as its owner sees it: a stable code and message per kind of failure.

The detail (an exception, a path on the worker, a model's loading error) goes to the logs
and the dead-letter stream, never to the user: it may name internal paths and classes,
and its wording changes with the code.
"""

from __future__ import annotations

from typing import Literal

JobErrorCode = Literal["model_unavailable", "invalid_request", "gave_up", "queue_unavailable"]
JOB_ERRORS: dict[JobErrorCode, str] = {
    "model_unavailable": "This model is not available right now. Your credits were refunded.",
    "invalid_request": "This request cannot be rendered. Your credits were refunded.",
    "gave_up": "The job failed several times and was stopped. Your credits were refunded.",
    "queue_unavailable": "The job could not be queued. Your credits were refunded.",
}
