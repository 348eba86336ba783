"""One GenerationParams from the request to the pipeline: what the API accepts is what the
row stores, the message carries, the recovery reads back and the worker renders."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.database import Database
from app.core.generation import GenerationParams
from app.core.queue import TIERS, JobMessage
from app.services.generation.router import MAX_SEED, GenerationRequest
from app.store import ledger
from app.store.jobs import JobStore
from app.worker.pipelines import render

BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# What the request's schema admits (PromptText: no control or bidi formatting
# characters, no surrogates, not only whitespace).
TEXT = st.text(
    st.characters(exclude_categories=("Cc", "Cs"), exclude_characters=BIDI_CONTROLS),
    min_size=1,
    max_size=40,
).filter(str.strip)
SIDE = st.integers(8, 256).map(lambda eighths: eighths * 8)
REQUESTS = st.fixed_dictionaries(
    {"prompt": TEXT, "model": st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True)},
    optional={
        "negative_prompt": st.none() | TEXT,
        "width": SIDE,
        "height": SIDE,
        "steps": st.integers(1, 150),
        "guidance_scale": st.floats(0, 30, allow_nan=False),
        "seed": st.none() | st.integers(0, MAX_SEED),
        "num_images": st.integers(1, 8),
    },
).map(GenerationRequest.model_validate)


@pytest.fixture(scope="module")
def jobs(database) -> Any:
    """The API's store (it creates jobs) and the worker's (it reads them back, as its
    own database role), and a user."""
    api, worker = (
        Database(database.app_url, database.schema),
        Database(database.worker_url, database.schema),
    )
    user_id = ledger.ensure_user(api, f"{uuid.uuid4().hex}@example.com", 10**6)
    yield JobStore(api), JobStore(worker), user_id
    api.dispose()
    worker.dispose()


class RecordingPipeline:
    """Stands in for a diffusers pipeline: keeps what ``render`` hands it."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **arguments: Any) -> Any:
        self.calls.append(arguments)
        return type("Output", (), {"images": []})()


def test_the_request_body_has_exactly_the_parameters():
    assert set(GenerationRequest.model_fields) == set(GenerationParams.names())


@given(body=REQUESTS)
@settings(max_examples=40, deadline=None)
def test_parameters_survive_request_row_message_and_render_unchanged(jobs, body):
    store, worker_store, user_id = jobs
    params = body.params()
    expected = {**body.model_dump(), "negative_prompt": body.negative_prompt or ""}
    if body.seed is None:
        assert 0 <= params.seed <= MAX_SEED
        expected["seed"] = params.seed
    assert vars(params) == expected

    job_id = uuid.uuid4()
    assert store.create(user_id, job_id, params, 1, list(TIERS)).outcome == "queued"
    [from_row] = [m for m in worker_store.unfinished() if m.job_id == job_id]
    assert from_row.params == params
    store.fail(from_row, "gave_up")  # final: later recoveries leave it alone

    received = JobMessage.from_fields(from_row.to_fields())
    assert received == from_row

    pipeline = RecordingPipeline()
    render(pipeline, received.params)
    [call] = pipeline.calls
    # One prompt, negative prompt and generator per image (the worker's batched call).
    images = params.num_images
    assert call["prompt"] == [params.prompt] * images
    assert (call["negative_prompt"] or [""] * images) == [params.negative_prompt] * images
    assert (call["width"], call["height"]) == (params.width, params.height)
    assert (call["num_inference_steps"], call["guidance_scale"]) == (
        params.steps,
        params.guidance_scale,
    )
    assert call["num_images_per_prompt"] == 1
    assert [generator.initial_seed() for generator in call["generator"]] == [params.seed] * images


@given(
    params=st.builds(
        GenerationParams,
        model=TEXT,
        prompt=TEXT,
        negative_prompt=st.just("") | TEXT,
        guidance_scale=st.floats(allow_nan=False, allow_infinity=False),
    )
)
def test_the_message_fields_round_trip_any_parameters(params):
    fields = params.to_fields()
    assert all(isinstance(value, str) for value in fields.values())
    assert GenerationParams.from_fields(fields) == params


def test_a_message_written_before_the_type_still_parses():
    """The wire format is that of message version 1, field for field."""
    fields = {
        "v": "1",
        "job_id": str(uuid.uuid4()),
        "user_id": str(uuid.uuid4()),
        "tier": "pro",
        "model": "tiny-sd",
        "prompt": "a lighthouse",
        "negative_prompt": "",
        "width": "512",
        "height": "768",
        "steps": "20",
        "guidance_scale": "7.25",
        "seed": "4294967295",
        "num_images": "2",
        "cost": "6",
        "enqueued_at": "2026-01-01T00:00:00+00:00",
        "request_id": "req-1",
    }
    message = JobMessage.from_fields(fields)
    assert message.params == GenerationParams(
        "tiny-sd", "a lighthouse", "", 512, 768, 20, 7.25, 4294967295, 2
    )
    assert message.to_fields() == fields
