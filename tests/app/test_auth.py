"""Sign-in, our JWTs (expiry, tampering), refresh, cookie sessions with CSRF, OAuth state."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import jwt
import pytest

from app.core.security import ACCESS_COOKIE, CSRF_COOKIE, CSRF_HEADER, REFRESH_COOKIE, TokenService

REQUEST = {"prompt": "auth", "model": "tiny-sd"}


def claims_for(user_id: uuid.UUID, **overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "iss": "pingvas",
        "sub": str(user_id),
        "sid": "s1",
        "jti": uuid.uuid4().hex,
        "typ": "access",
        "iat": now,
        "exp": now + timedelta(minutes=30),
    }
    claims.update(overrides)
    return claims


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_dev_login_issues_a_30_minute_hs256_token(client, settings):
    response = client.post("/api/auth/dev-login", json={"email": "Someone@Example.com"})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    header = jwt.get_unverified_header(body["access_token"])
    claims = jwt.decode(
        body["access_token"], settings.jwt_secret.get_secret_value(), algorithms=["HS256"]
    )
    assert header["alg"] == "HS256"
    assert claims["exp"] - claims["iat"] == 30 * 60
    again = client.post("/api/auth/dev-login", json={"email": "someone@example.com"}).json()
    me = client.get(
        "/api/users/me", headers={"Authorization": f"Bearer {again['access_token']}"}
    ).json()
    assert me["id"] == claims["sub"]
    assert me["email"] == "someone@example.com"
    assert (me["tier"], me["credits"]) == ("free", 50)


@pytest.mark.parametrize("email", ["not-an-email", "", "a@b", "x\x00@example.com"])
def test_dev_login_rejects_bad_email(client, email):
    response = client.post("/api/auth/dev-login", json={"email": email})
    assert response.status_code == 422


def test_dev_login_is_off_unless_enabled(make_client):
    disabled = make_client(auth_dev_login=False)
    response = disabled.post("/api/auth/dev-login", json={"email": "a@example.com"})
    assert response.status_code == 404
    assert "disabled" in response.json()["detail"]


def test_me_needs_a_token(client):
    assert client.get("/api/users/me").status_code == 401
    assert client.get("/api/users/me", headers={"Authorization": "Basic abc"}).status_code == 401
    assert (
        client.get("/api/users/me", headers={"Authorization": "Bearer garbage"}).status_code == 401
    )


def test_an_expired_token_is_refused(client, user, settings):
    secret = settings.jwt_secret.get_secret_value()
    past = datetime.now(UTC) - timedelta(minutes=31)
    token = jwt.encode(
        claims_for(user.id, iat=past, exp=past + timedelta(minutes=30)), secret, algorithm="HS256"
    )
    response = client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["detail"] == "token expired"
    fresh = jwt.encode(claims_for(user.id), secret, algorithm="HS256")
    assert (
        client.get("/api/users/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    )


def test_tampered_alg_is_refused(client, user, settings):
    secret = settings.jwt_secret.get_secret_value()
    claims = claims_for(
        user.id,
        iat=int(datetime.now(UTC).timestamp()),
        exp=int(datetime.now(UTC).timestamp()) + 600,
    )
    valid = jwt.encode(claims, secret, algorithm="HS256")
    _, payload, signature = valid.split(".")
    forged = [
        f"{b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        f"{b64({'alg': 'HS512', 'typ': 'JWT'})}.{payload}.{signature}",
        f"{b64({'alg': 'RS256', 'typ': 'JWT'})}.{payload}.{signature}",
        jwt.encode(claims, secret, algorithm="HS512"),
        jwt.encode(claims, "another-secret-of-sufficient-length-000000", algorithm="HS256"),
        f"{valid[:-4]}AAAA",
    ]
    assert (
        client.get("/api/users/me", headers={"Authorization": f"Bearer {valid}"}).status_code == 200
    )
    for token in forged:
        response = client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token


def test_a_refresh_token_is_not_an_access_token(client, user):
    response = client.get(
        "/api/users/me", headers={"Authorization": f"Bearer {user.refresh_token}"}
    )
    assert response.status_code == 401


def test_refresh_rotates_and_a_replay_revokes_the_session(client, user):
    first = client.post("/api/auth/refresh", json={"refresh_token": user.refresh_token})
    assert first.status_code == 200
    renewed = first.json()
    assert client.get(
        "/api/users/me", headers={"Authorization": f"Bearer {renewed['access_token']}"}
    ).json()["id"] == str(user.id)

    replay = client.post("/api/auth/refresh", json={"refresh_token": user.refresh_token})
    assert replay.status_code == 401
    after_replay = client.post(
        "/api/auth/refresh", json={"refresh_token": renewed["refresh_token"]}
    )
    assert after_replay.status_code == 401
    assert after_replay.json()["detail"] == "session revoked"


def test_refresh_needs_a_valid_refresh_token(client, user):
    assert client.post("/api/auth/refresh", json={}).status_code == 401
    assert client.post("/api/auth/refresh", json={"refresh_token": user.token}).status_code == 401


def test_logout_ends_the_session(client, user):
    assert client.post("/api/auth/logout", headers=user.headers).status_code == 204
    response = client.post("/api/auth/refresh", json={"refresh_token": user.refresh_token})
    assert response.status_code == 401


class TestCookieSessionWithCsrf:
    @pytest.fixture
    def browser(self, make_client, user, app):
        browser = make_client()
        context = app.state.context
        claims = context.tokens.decode(user.token, "access")
        browser.cookies.set(ACCESS_COOKIE, user.token)
        browser.cookies.set(CSRF_COOKIE, context.csrf.for_session(claims.session_id))
        return browser

    def test_safe_methods_need_no_csrf_token(self, browser, user):
        assert browser.get("/api/users/me").json()["id"] == str(user.id)

    def test_unsafe_methods_need_the_matching_header(self, browser):
        csrf = browser.cookies[CSRF_COOKIE]
        missing = browser.post("/api/generations", json=REQUEST)
        wrong = browser.post("/api/generations", json=REQUEST, headers={CSRF_HEADER: "0" * 64})
        ok = browser.post("/api/generations", json=REQUEST, headers={CSRF_HEADER: csrf})
        assert (missing.status_code, wrong.status_code, ok.status_code) == (403, 403, 202)
        assert missing.json()["detail"] == "CSRF token missing or invalid"

    def test_a_token_for_another_session_is_refused(self, browser, app):
        planted = app.state.context.csrf.for_session("someone-elses-session")
        browser.cookies.set(CSRF_COOKIE, planted)
        response = browser.post("/api/generations", json=REQUEST, headers={CSRF_HEADER: planted})
        assert response.status_code == 403

    def test_bearer_calls_need_no_csrf_token(self, client, user):
        assert (
            client.post("/api/generations", json=REQUEST, headers=user.headers).status_code == 202
        )

    def test_cookie_refresh_sets_new_cookies_and_needs_csrf(self, browser, user):
        browser.cookies.set(REFRESH_COOKIE, user.refresh_token, path="/api/auth")
        refused = browser.post("/api/auth/refresh")
        assert refused.status_code == 403
        response = browser.post(
            "/api/auth/refresh", headers={CSRF_HEADER: browser.cookies[CSRF_COOKIE]}
        )
        assert response.status_code == 200
        set_cookies = response.headers.get_list("set-cookie")
        assert any(c.startswith(f"{ACCESS_COOKIE}=") and "HttpOnly" in c for c in set_cookies)
        assert any(c.startswith(f"{CSRF_COOKIE}=") and "HttpOnly" not in c for c in set_cookies)


def test_token_service_round_trip_and_type_check():
    tokens = TokenService("s" * 40, access_minutes=30)
    user_id = uuid.uuid4()
    pair = tokens.issue(user_id)
    claims = tokens.decode(pair.access_token, "access")
    assert (claims.user_id, claims.session_id) == (user_id, pair.session_id)
    assert tokens.decode(pair.refresh_token, "refresh").session_id == pair.session_id


class TestOAuth:
    def login(self, browser, provider: str) -> dict[str, str]:
        response = browser.get(f"/api/auth/{provider}/login", follow_redirects=False)
        assert response.status_code == 302
        target = urlparse(response.headers["location"])
        return {key: values[0] for key, values in parse_qs(target.query).items()} | {
            "host": target.netloc
        }

    def test_login_redirects_to_the_provider_with_state(self, client):
        query = self.login(client, "discord")
        assert query["host"] == "discord.com"
        assert query["client_id"] == "discord-client"
        assert query["state"]
        assert query["redirect_uri"].endswith("/api/auth/discord/callback")

    def test_discord_sign_in_starts_a_cookie_session(self, make_client, providers):
        browser = make_client()
        email = f"discord-{uuid.uuid4().hex[:8]}@example.com"
        providers.discord_profile = {"id": "42", "email": email, "verified": True}
        state = self.login(browser, "discord")["state"]

        response = browser.get(
            f"/api/auth/discord/callback?code=the-code&state={state}", follow_redirects=False
        )

        assert response.status_code == 303
        me = browser.get("/api/users/me")
        assert me.status_code == 200
        assert me.json()["email"] == email
        token_request = [r for r in providers.requests if r["path"] == "/discord/oauth2/token"][-1]
        assert "code=the-code" in token_request["body"]
        csrf = browser.cookies[CSRF_COOKIE]
        created = browser.post("/api/generations", json=REQUEST, headers={CSRF_HEADER: csrf})
        assert created.status_code == 202

    def test_discord_unverified_email_is_refused(self, make_client, providers):
        browser = make_client()
        providers.discord_profile = {"id": "43", "email": "u@example.com", "verified": False}
        state = self.login(browser, "discord")["state"]
        response = browser.get(f"/api/auth/discord/callback?code=c&state={state}")
        assert response.status_code == 403
        assert "verified" in response.json()["detail"]
        assert ACCESS_COOKIE not in browser.cookies

    @pytest.mark.parametrize("verified", [True, False, "true"])
    def test_google_requires_email_verified(self, make_client, providers, verified):
        browser = make_client()
        query = self.login(browser, "google")
        assert query["scope"] == "openid email profile"
        email = f"google-{uuid.uuid4().hex[:8]}@example.com"
        providers.google_claims = {
            "sub": "g-1",
            "email": email,
            "email_verified": verified,
            "nonce": query["nonce"],
        }
        response = browser.get(
            f"/api/auth/google/callback?code=c&state={query['state']}", follow_redirects=False
        )
        if verified is True:
            assert response.status_code == 303
            assert browser.get("/api/users/me").json()["email"] == email
        else:
            assert response.status_code == 403

    def test_google_id_token_with_a_wrong_nonce_is_refused(self, make_client, providers):
        browser = make_client()
        query = self.login(browser, "google")
        providers.google_claims = {
            "sub": "g",
            "email": "n@example.com",
            "email_verified": True,
            "nonce": "x",
        }
        response = browser.get(f"/api/auth/google/callback?code=c&state={query['state']}")
        assert response.status_code == 400

    def test_an_unreachable_provider_is_502(self, make_client):
        from app.devservers import free_port

        browser = make_client(discord_api_url=f"http://127.0.0.1:{free_port()}")
        state = self.login(browser, "discord")["state"]
        response = browser.get(f"/api/auth/discord/callback?code=c&state={state}")
        assert response.status_code == 502
        unreachable_google = make_client(google_metadata_url=f"http://127.0.0.1:{free_port()}/x")
        assert unreachable_google.get("/api/auth/google/login").status_code == 502

    def test_callback_with_a_wrong_state_is_refused(self, client):
        self.login(client, "discord")
        response = client.get(
            "/api/auth/discord/callback?code=abc&state=forged", follow_redirects=False
        )
        assert response.status_code == 400
        assert "sign-in failed" in response.json()["detail"]

    def test_callback_without_a_login_is_refused(self, make_client):
        fresh = make_client()
        response = fresh.get("/api/auth/discord/callback?code=abc&state=x", follow_redirects=False)
        assert response.status_code == 400

    def test_unconfigured_and_unknown_providers(self, client, make_client):
        unconfigured = make_client(google_client_id=None)
        assert unconfigured.get("/api/auth/google/login", follow_redirects=False).status_code == 404
        assert client.get("/api/auth/github/login", follow_redirects=False).status_code == 422


def test_a_valid_token_for_a_user_that_does_not_exist(client, app):
    ghost = app.state.context.tokens.issue(uuid.uuid4())
    headers = {"Authorization": f"Bearer {ghost.access_token}"}
    some_id = uuid.uuid4()
    calls = [
        ("GET", "/api/users/me", None, 404),
        ("POST", "/api/generations", REQUEST, 404),
        ("GET", "/api/generations", None, 200),
        ("GET", f"/api/generations/{some_id}", None, 404),
        ("DELETE", f"/api/generations/{some_id}", None, 404),
        ("GET", "/api/images", None, 200),
        ("GET", f"/api/images/{some_id}", None, 404),
        ("DELETE", f"/api/images/{some_id}", None, 404),
        ("POST", "/api/payments/checkout", {"variant": "pro"}, 404),
        ("GET", "/api/payments/ledger", None, 200),
    ]
    for method, path, body, expected in calls:
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == expected, (method, path, response.text)
