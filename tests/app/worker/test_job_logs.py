"""The request id travels from the API call into the job and every line the worker logs
while it handles that job, with the job id and the user id."""

from __future__ import annotations

import logging
import uuid

from app.worker.tiny_model import TINY_MODEL_ID
from tests.support.app import JsonLines


def test_worker_lines_carry_the_job_and_the_request_that_made_it(
    make_user, lane_api, make_worker
) -> None:
    user = make_user(tier="basic")
    response = lane_api.post(
        "/api/generations",
        json={"prompt": "a lighthouse", "model": TINY_MODEL_ID, "width": 64, "height": 64,
              "steps": 2},
        headers={**user.headers, "X-Request-ID": "trace-worker-7"},
    )  # fmt: skip
    assert response.status_code == 202, response.text
    job_id = uuid.UUID(response.json()["id"])
    lines = JsonLines()
    root = logging.getLogger()
    root.addHandler(lines)
    level, root.level = root.level, logging.INFO
    try:
        assert make_worker().run_once() == "succeeded"
    finally:
        root.removeHandler(lines)
        root.setLevel(level)
    worker_lines = [line for line in lines.lines if line["logger"].startswith("app.worker")]
    assert worker_lines
    for line in worker_lines:
        assert line["job_id"] == str(job_id)
        assert line["request_id"] == "trace-worker-7"
        assert line["user_id"] == str(user.id)
