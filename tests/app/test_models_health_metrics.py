"""Model catalogue, health/readiness, Prometheus metrics."""

from __future__ import annotations

import json

from app.catalogue import ModelCatalogue
from tests.support.app import metric


def test_models_are_the_folders_with_a_valid_manifest(client):
    models = client.get("/api/models").json()
    assert [model["id"] for model in models] == ["sdxl-base", "tiny-sd"]
    tiny = client.get("/api/models/tiny-sd").json()
    assert tiny == {
        "id": "tiny-sd",
        "name": "Tiny SD",
        "kind": "stable-diffusion",
        "default_width": 512,
        "default_height": 512,
        "default_steps": 25,
        "description": "",
    }


def test_unknown_model_is_404(client):
    for model_id in ("broken", "no-such", "no-manifest", "..%2Fetc"):
        response = client.get(f"/api/models/{model_id}")
        assert response.status_code == 404, model_id


def test_the_catalogue_follows_the_folder(tmp_path):
    catalogue = ModelCatalogue(tmp_path, ttl_seconds=0)
    assert catalogue.all() == []
    (tmp_path / "new-model").mkdir()
    (tmp_path / "new-model" / "manifest.json").write_text(
        json.dumps(
            {
                "name": "New",
                "kind": "sd",
                "default_width": 64,
                "default_height": 64,
                "default_steps": 2,
            }
        )
    )
    assert [model.id for model in catalogue.all()] == ["new-model"]
    assert ModelCatalogue(tmp_path / "missing").all() == []


def test_health_and_readiness(client):
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok", "queue": "ok"}


def test_readiness_recreates_the_consumer_groups_a_redis_restart_lost(client, redis_client):
    # What an empty, restarted Redis looks like to the API.
    for tier in ("free", "basic", "pro"):
        redis_client.delete(f"{{pingvas:jobs}}:{tier}")

    ready = client.get("/readyz")

    assert ready.status_code == 200
    for tier in ("free", "basic", "pro"):
        groups = redis_client.xinfo_groups(f"{{pingvas:jobs}}:{tier}")
        assert [group["name"] for group in groups] == ["gpu-workers"]


def test_metrics_count_generations_credits_and_queue(client, make_user):
    user = make_user(credits=100, tier="pro")
    before = client.get("/metrics").text
    for _ in range(2):
        client.post(
            "/api/generations",
            headers=user.headers,
            json={"prompt": "m", "model": "tiny-sd", "steps": 50},
        )
    client.post(
        "/api/generations",
        headers=user.headers,
        json={"prompt": "m", "model": "tiny-sd", "steps": 81},
    )
    after = client.get("/metrics")

    assert after.headers["content-type"].startswith("text/plain")
    text = after.text
    queued = metric(text, "generation_requests_total", tier="pro", outcome="queued")
    assert queued - metric(before, "generation_requests_total", tier="pro", outcome="queued") == 2
    rejected = metric(text, "generation_requests_total", tier="pro", outcome="rejected")
    assert (
        rejected - metric(before, "generation_requests_total", tier="pro", outcome="rejected") == 1
    )
    consumed = metric(text, "credits_consumed_total", tier="pro")
    assert consumed - metric(before, "credits_consumed_total", tier="pro") == 4
    assert metric(text, "queue_length", tier="pro") >= 2
    assert (
        metric(text, "http_requests_total", method="POST", route="/api/generations", status="202")
        >= 2
    )
    assert "generation_duration_seconds" in text
    client.get("/no/such/path")
    unmatched = metric(
        client.get("/metrics").text,
        "http_requests_total",
        method="GET",
        route="unmatched",
        status="404",
    )
    assert unmatched >= 1  # unknown paths share one label value instead of one each


def test_an_exhausted_connection_pool_is_503_not_500(make_client, user):
    small = make_client(db_pool_size=1, db_pool_timeout_seconds=0.2)
    writer = small.app.state.context.db.writer
    held = [writer.connect(), writer.connect()]  # the pool and its overflow
    try:
        response = small.get("/api/users/me", headers=user.headers)
    finally:
        for connection in held:
            connection.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert small.get("/api/users/me", headers=user.headers).status_code == 200
