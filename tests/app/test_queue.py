"""The Redis Streams job queue, both sides (the worker's functions are exercised here)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest

from app.core.generation import GenerationParams
from app.core.queue import JobMessage, JobQueue


def message(tier: str = "free") -> JobMessage:
    return JobMessage(
        job_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        tier=tier,
        params=GenerationParams(
            model="tiny-sd",
            prompt="a prompt with: colons, ünïcode and\nnew lines",
            negative_prompt="",
            width=512,
            height=768,
            steps=20,
            guidance_scale=7.25,
            seed=2**32 - 1,
            num_images=2,
        ),
        cost=6,
        enqueued_at=datetime.now(UTC),
    )


@pytest.fixture
def queue(redis_client) -> JobQueue:
    jobs = JobQueue(redis_client, prefix=f"{{test:{uuid.uuid4().hex}}}")
    jobs.ensure_groups()
    jobs.ensure_groups()  # idempotent
    return jobs


def test_message_round_trip_and_version():
    original = message()
    fields = original.to_fields()
    assert fields["v"] == "1"
    assert all(isinstance(value, str) for value in fields.values())
    assert JobMessage.from_fields(fields) == original
    with pytest.raises(ValueError, match="version"):
        JobMessage.from_fields({**fields, "v": "2"})


def test_enqueue_read_ack(queue):
    sent = message("basic")
    queue.enqueue(sent)
    assert queue.lengths() == {"free": 0, "basic": 1, "pro": 0}

    [delivery] = queue.read("worker-1")
    assert delivery.message == sent
    assert delivery.stream.endswith(":basic")
    assert queue.read("worker-2") == []  # delivered once to the group

    queue.ack(delivery)
    assert queue.lengths()["basic"] == 0


def test_read_takes_the_highest_tier_first(queue):
    for tier in ("free", "pro", "basic"):
        queue.enqueue(message(tier))
    order = [queue.read("w")[0].message.tier for _ in range(3)]
    assert order == ["pro", "basic", "free"]
    assert queue.read("w", block_ms=50) == []


def test_stale_entries_are_reclaimed_and_counted(queue):
    queue.enqueue(message("pro"))
    [first] = queue.read("crashed-worker")
    time.sleep(0.02)

    [reclaimed] = queue.claim_stale("rescuer", "pro", min_idle_ms=10)

    assert reclaimed.message_id == first.message_id
    assert reclaimed.delivery_count == 2
    queue.heartbeat(reclaimed, "rescuer")
    assert queue.claim_stale("thief", "pro", min_idle_ms=60_000) == []


def test_dead_letter_moves_the_entry(queue, redis_client):
    sent = message("free")
    queue.enqueue(sent)
    [delivery] = queue.read("w")

    queue.dead_letter(delivery, "out of memory")

    assert queue.lengths()["free"] == 0
    [(_, fields)] = redis_client.xrange(queue.dead_letter_stream)
    assert fields["reason"] == "out of memory"
    assert fields["job_id"] == str(sent.job_id)
    assert JobMessage.from_fields(fields) == sent


def test_unknown_tier_is_refused(queue):
    with pytest.raises(ValueError, match="unknown tier"):
        queue.stream("platinum")
