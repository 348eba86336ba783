"""Refresh-token state outlives Redis (issue 13, item 6): revocation and single use are
kept in PostgreSQL, so restarting Redis empty brings no used or revoked token back."""

from __future__ import annotations


def refresh(client, token: str):
    return client.post("/api/auth/refresh", json={"refresh_token": token})


def test_a_used_refresh_token_stays_used_after_redis_loses_its_data(client, user, redis_server):
    first = refresh(client, user.refresh_token)
    assert first.status_code == 200

    redis_server.stop()
    redis_server.start()  # empty

    replay = refresh(client, user.refresh_token)
    assert replay.status_code == 401
    assert replay.json()["detail"] == "refresh token already used"
    # The replay revoked the whole session: the fresh token of the first exchange too.
    assert refresh(client, first.json()["refresh_token"]).json()["detail"] == "session revoked"


def test_a_logout_stays_in_force_after_redis_loses_its_data(client, user, redis_server):
    assert client.post("/api/auth/logout", headers=user.headers).status_code == 204

    redis_server.stop()
    redis_server.start()

    response = refresh(client, user.refresh_token)
    assert response.status_code == 401
    assert response.json()["detail"] == "session revoked"
