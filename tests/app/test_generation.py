"""POST/GET/DELETE /api/generations: debit + record + enqueue, bounds, cancel, ownership."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import cast

import psycopg
import pytest
import redis
from redis.asyncio import Redis as AsyncRedis

from app.core.loops import PerLoop
from app.core.queue import JobMessage, JobQueue
from app.models import JOB_STATUSES, JOB_TRANSITIONS
from tests.support.app import balance_and_ledger, problems

REQUEST = {
    "prompt": "a lighthouse at dusk",
    "model": "tiny-sd",
    "width": 512,
    "height": 512,
    "steps": 25,
}


def queued_message(redis_client: redis.Redis, tier: str, job_id: str) -> JobMessage:
    # The client decodes responses to str, which redis' annotations cannot know.
    entries = cast(
        "list[tuple[str, dict[str, str]]]", redis_client.xrange(JobQueue(redis_client).stream(tier))
    )
    messages = [JobMessage.from_fields(fields) for _, fields in entries]
    found = [message for message in messages if str(message.job_id) == job_id]
    assert len(found) == 1, f"job {job_id} should be on the {tier} stream exactly once"
    return found[0]


def test_create_debits_records_and_enqueues_on_the_tier_stream(
    client, make_user, owner, redis_client
):
    user = make_user(credits=40, tier="basic")
    body = {**REQUEST, "negative_prompt": "blur", "seed": 7, "num_images": 2, "guidance_scale": 5.0}

    response = client.post("/api/generations", headers=user.headers, json=body)

    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "queued"
    assert accepted["cost"] == 2  # two 512x512 images of 25 steps
    assert balance_and_ledger(owner, user.id) == (38, 38, 3)  # signup, grant, this debit
    debit = owner(
        "SELECT key, amount, balance_after FROM credit_ledger"
        " WHERE kind = 'debit' AND user_id = %s",
        (user.id,),
    )
    assert debit == [(f"debit:{accepted['id']}", -2, 38)]
    message = queued_message(redis_client, "basic", accepted["id"])
    assert message.user_id == user.id
    params = message.params
    assert (params.model, params.prompt) == ("tiny-sd", body["prompt"])
    assert params.negative_prompt == "blur"
    assert (params.width, params.height, params.steps, params.num_images) == (512, 512, 25, 2)
    assert (params.seed, params.guidance_scale, message.cost, message.tier) == (7, 5.0, 2, "basic")


def test_get_and_list_own_generations(client, user):
    created = [
        client.post("/api/generations", headers=user.headers, json=REQUEST).json() for _ in range(3)
    ]

    job = client.get(f"/api/generations/{created[0]['id']}", headers=user.headers)
    assert job.status_code == 200
    assert job.json()["status"] == "queued"
    assert job.json()["images"] == []
    assert job.json()["error"] is None

    first = client.get("/api/generations?limit=2", headers=user.headers).json()
    second = client.get(
        f"/api/generations?limit=2&offset={first['next_offset']}", headers=user.headers
    ).json()
    listed = [item["id"] for item in first["items"] + second["items"]]
    assert sorted(listed) == sorted(item["id"] for item in created)
    assert second["next_offset"] is None


def test_insufficient_credits_is_402_and_changes_nothing(client, make_user, owner):
    user = make_user(credits=1)
    before = balance_and_ledger(owner, user.id)

    response = client.post("/api/generations", headers=user.headers, json={**REQUEST, "steps": 30})

    assert response.status_code == 402
    assert "2 credits needed, 1 available" in response.json()["detail"]
    assert balance_and_ledger(owner, user.id) == before
    assert owner("SELECT count(*) FROM jobs WHERE user_id = %s", (user.id,)) == [(0,)]


@pytest.mark.parametrize(
    ("tier", "change", "message"),
    [
        ("free", {"width": 1024}, "at most 768 on the free tier"),
        ("free", {"steps": 31}, "steps must be at most 30"),
        ("free", {"num_images": 2}, "num_images must be at most 1"),
        ("basic", {"width": 1536, "height": 1536}, "at most 1024 on the basic tier"),
        ("pro", {"steps": 81}, "at most 80 on the pro tier"),
    ],
)
def test_tier_bounds(client, make_user, owner, tier, change, message):
    user = make_user(credits=1000, tier=tier)
    response = client.post("/api/generations", headers=user.headers, json={**REQUEST, **change})
    assert response.status_code == 422
    assert message in problems(response)
    assert owner("SELECT count(*) FROM jobs WHERE user_id = %s", (user.id,)) == [(0,)]


def test_pro_tier_may_ask_for_more(client, make_user):
    user = make_user(credits=1000, tier="pro")
    body = {**REQUEST, "width": 1536, "height": 1024, "steps": 80, "num_images": 4}
    response = client.post("/api/generations", headers=user.headers, json=body)
    assert response.status_code == 202
    assert response.json()["cost"] == 4 * 6 * 4


@pytest.mark.parametrize(
    "body",
    [
        {**REQUEST, "model": "no-such-model"},
        {**REQUEST, "width": 513},
        {**REQUEST, "height": 32},
        {**REQUEST, "steps": 0},
        {**REQUEST, "prompt": ""},
        {**REQUEST, "prompt": "nul \x00 byte"},
        {**REQUEST, "seed": -1},
        {**REQUEST, "seed": 2**40},
        {**REQUEST, "guidance_scale": "NaN"},
        {**REQUEST, "num_images": 9},
        {**REQUEST, "unexpected": 1},
        {"model": "tiny-sd"},
        [],
        "prompt",
    ],
)
def test_bad_input_is_422_with_a_message(client, user, body):
    response = client.post("/api/generations", headers=user.headers, json=body)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_malformed_json_is_422(client, user):
    response = client.post(
        "/api/generations",
        headers={**user.headers, "Content-Type": "application/json"},
        content=b'{"prompt": ',
    )
    assert response.status_code == 422


def test_cancel_refunds_once(client, make_user, owner):
    user = make_user(credits=10)
    job_id = client.post("/api/generations", headers=user.headers, json=REQUEST).json()["id"]
    assert balance_and_ledger(owner, user.id)[0] == 9

    canceled = client.delete(f"/api/generations/{job_id}", headers=user.headers)
    again = client.delete(f"/api/generations/{job_id}", headers=user.headers)

    assert canceled.status_code == 200
    assert canceled.json() == {"id": job_id, "status": "canceled", "refunded": 1}
    assert again.status_code == 409
    assert "canceled" in again.json()["detail"]
    assert (
        client.get(f"/api/generations/{job_id}", headers=user.headers).json()["status"]
        == "canceled"
    )
    balance, total, _ = balance_and_ledger(owner, user.id)
    assert balance == total == 10
    refunds = owner(
        "SELECT key, amount FROM credit_ledger WHERE kind = 'refund' AND user_id = %s", (user.id,)
    )
    assert refunds == [(f"refund:{job_id}", 1)]


def test_a_running_job_cannot_be_canceled(client, user, owner):
    job_id = client.post("/api/generations", headers=user.headers, json=REQUEST).json()["id"]
    owner("UPDATE jobs SET status = 'running' WHERE id = %s", (job_id,))

    response = client.delete(f"/api/generations/{job_id}", headers=user.headers)

    assert response.status_code == 409
    assert "running" in response.json()["detail"]


PATHS_TO = {"queued": [], "running": ["running"], "succeeded": ["running", "succeeded"]}
PATHS_TO |= {"failed": ["failed"], "canceled": ["canceled"]}


@pytest.mark.parametrize("start", JOB_STATUSES)
def test_status_only_moves_forward(client, user, owner, start):
    """Every (from, to) pair: the database accepts exactly JOB_TRANSITIONS."""
    for target in JOB_STATUSES:
        job_id = client.post("/api/generations", headers=user.headers, json=REQUEST).json()["id"]
        for step in PATHS_TO[start]:
            owner("UPDATE jobs SET status = %s WHERE id = %s", (step, job_id))
        if target in JOB_TRANSITIONS[start] or target == start:
            owner("UPDATE jobs SET status = %s WHERE id = %s", (target, job_id))
            assert owner("SELECT status FROM jobs WHERE id = %s", (job_id,)) == [(target,)]
        else:
            with pytest.raises(psycopg.errors.CheckViolation, match=f"cannot move from {start}"):
                owner("UPDATE jobs SET status = %s WHERE id = %s", (target, job_id))
    assert JOB_TRANSITIONS["succeeded"] == JOB_TRANSITIONS["canceled"] == frozenset()


def test_another_users_job_is_404(client, make_user):
    alice, mallory = make_user(), make_user()
    job_id = client.post("/api/generations", headers=alice.headers, json=REQUEST).json()["id"]

    assert client.get(f"/api/generations/{job_id}", headers=mallory.headers).status_code == 404
    assert client.delete(f"/api/generations/{job_id}", headers=mallory.headers).status_code == 404
    assert client.get("/api/generations", headers=mallory.headers).json()["items"] == []
    assert (
        client.get(f"/api/generations/{job_id}", headers=alice.headers).json()["status"] == "queued"
    )
    assert client.get(f"/api/generations/{uuid.uuid4()}", headers=alice.headers).status_code == 404
    assert client.get("/api/generations/not-a-uuid", headers=alice.headers).status_code == 422


def test_concurrent_requests_never_overdraw(client, make_user, owner):
    user = make_user(credits=7)

    def create() -> int:
        return client.post("/api/generations", headers=user.headers, json=REQUEST).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: create(), range(12)))

    assert sorted(statuses) == [202] * 7 + [402] * 5
    balance, total, rows = balance_and_ledger(owner, user.id)
    assert balance == total == 0
    assert rows == 2 + 7  # signup, grant and seven debits


def test_queue_outage_fails_the_job_and_refunds(make_client, make_user, owner, settings):
    from app.devservers import free_port

    outage = make_client()
    port = free_port()  # nothing listens there
    dead = redis.Redis(port=port, decode_responses=True, socket_connect_timeout=0.2)
    outage.app.state.context.queue = JobQueue(dead)
    # The XADD goes out from the event loop, through the context's redis.asyncio client.
    outage.app.state.context.redis_async = PerLoop(
        lambda: AsyncRedis(port=port, decode_responses=True, socket_connect_timeout=0.2)
    )
    user = make_user(credits=5)

    response = outage.post("/api/generations", headers=user.headers, json=REQUEST)

    assert response.status_code == 503
    assert "queue" in response.json()["detail"]
    assert owner("SELECT status, error_code FROM jobs WHERE user_id = %s", (user.id,)) == [
        ("failed", "queue_unavailable")
    ]
    balance, total, _ = balance_and_ledger(owner, user.id)
    assert balance == total == 5


def test_unknown_model_names_the_field(client, user):
    response = client.post(
        "/api/generations", headers=user.headers, json={**REQUEST, "model": "nope"}
    )
    assert response.status_code == 422
    assert problems(response) == "body.model: unknown model 'nope'; see GET /api/models"


def test_tier_bounds_are_reported_before_missing_credits(client, make_user, owner):
    user = make_user(credits=0)
    response = client.post(
        "/api/generations", headers=user.headers, json={**REQUEST, "width": 1024}
    )
    assert response.status_code == 422
    assert "body.width: width must be at most 768" in problems(response)
    assert client.post("/api/generations", headers=user.headers, json=REQUEST).status_code == 402


def test_lists_read_from_the_reader_and_lookups_from_the_writer(make_client, user, client):
    from app.devservers import free_port

    job_id = client.post("/api/generations", headers=user.headers, json=REQUEST).json()["id"]
    reader_down = make_client(database_read_url=f"postgresql://nobody@127.0.0.1:{free_port()}/x")

    assert reader_down.get(f"/api/generations/{job_id}", headers=user.headers).status_code == 200
    assert reader_down.get("/api/generations", headers=user.headers).status_code == 503
    assert reader_down.get("/api/images", headers=user.headers).status_code == 503
    assert reader_down.get("/api/payments/ledger", headers=user.headers).status_code == 503
