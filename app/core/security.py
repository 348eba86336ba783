"""Our own tokens: HS256 JWTs (30-minute access, longer refresh) and CSRF tokens.

Access and refresh tokens share a session id (``sid``). Browser sessions carry the
access token in an HttpOnly cookie; the CSRF token is ``HMAC(SESSION_SECRET, sid)``,
sent both as a readable cookie and echoed in a header (signed double submit), so a
token planted by a sibling sub-domain does not validate for another session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import jwt
from cachetools import TTLCache

ALGORITHM = "HS256"
ISSUER = "pingvas"
TokenType = Literal["access", "refresh"]

ACCESS_COOKIE = "pingvas_session"
REFRESH_COOKIE = "pingvas_refresh"
CSRF_COOKIE = "pingvas_csrf"
CSRF_HEADER = "X-CSRF-Token"


class InvalidToken(Exception):
    """The token is malformed, expired, of the wrong type or not signed by us."""


@dataclass(frozen=True)
class TokenClaims:
    user_id: uuid.UUID
    session_id: str
    token_id: str
    token_type: TokenType
    expires_at: datetime


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    session_id: str
    expires_in: int


class TokenService:
    def __init__(self, secret: str, access_minutes: int = 30, refresh_days: int = 14) -> None:
        self._secret = secret
        self.access_ttl = timedelta(minutes=access_minutes)
        self.refresh_ttl = timedelta(days=refresh_days)
        # Access tokens verified in the last minute, by their exact text: a client sends
        # the same one with every request, and a hit skips the HMAC and the JSON parse.
        # Expiry is still checked on every use.
        self._verified: TTLCache[str, TokenClaims] = TTLCache(maxsize=100_000, ttl=60)
        self._lock = threading.Lock()

    def _encode(self, user_id: uuid.UUID, session_id: str, token_type: TokenType) -> str:
        now = datetime.now(UTC)
        ttl = self.access_ttl if token_type == "access" else self.refresh_ttl  # noqa: S105
        claims = {
            "iss": ISSUER,
            "sub": str(user_id),
            "sid": session_id,
            "jti": secrets.token_urlsafe(16),
            "typ": token_type,
            "iat": now,
            "exp": now + ttl,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def issue(self, user_id: uuid.UUID, session_id: str | None = None) -> TokenPair:
        session_id = session_id or secrets.token_urlsafe(16)
        return TokenPair(
            access_token=self._encode(user_id, session_id, "access"),
            refresh_token=self._encode(user_id, session_id, "refresh"),
            session_id=session_id,
            expires_in=int(self.access_ttl.total_seconds()),
        )

    def decode(self, token: str, expected_type: TokenType) -> TokenClaims:
        if expected_type == "access":
            with self._lock:
                known = self._verified.get(token)
            if known is not None and known.expires_at > datetime.now(UTC):
                return known
        claims = self._verify(token, expected_type)
        if expected_type == "access":
            with self._lock:
                self._verified[token] = claims
        return claims

    def _verify(self, token: str, expected_type: TokenType) -> TokenClaims:
        try:
            # Only HS256 is accepted: a token whose header names another algorithm
            # ("none", HS512, RS256 with our secret as a "public key") is rejected.
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "sid", "jti", "typ", "iss"]},
            )
            if claims["typ"] != expected_type:
                raise InvalidToken(f"expected a {expected_type} token")
            return TokenClaims(
                user_id=uuid.UUID(str(claims["sub"])),
                session_id=str(claims["sid"]),
                token_id=str(claims["jti"]),
                token_type=expected_type,
                expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
            )
        except jwt.ExpiredSignatureError as error:
            raise InvalidToken("token expired") from error
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            raise InvalidToken("invalid token") from error


class CsrfTokens:
    def __init__(self, secret: str) -> None:
        self._key = secret.encode()

    def for_session(self, session_id: str) -> str:
        return hmac.new(self._key, f"csrf:{session_id}".encode(), hashlib.sha256).hexdigest()

    def valid(self, session_id: str, cookie: str | None, header: str | None) -> bool:
        if not cookie or not header:
            return False
        expected = self.for_session(session_id).encode()
        return hmac.compare_digest(_bytes(cookie), _bytes(header)) and hmac.compare_digest(
            _bytes(header), expected
        )


def hmac_sha256_hex_matches(secret: str, body: bytes, signature: str) -> bool:
    """Constant-time check of a hex HMAC-SHA256 signature over a raw body."""
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(expected, _bytes(signature.strip().lower()))


def _bytes(value: str) -> bytes:
    # compare_digest refuses non-ASCII str; header values may hold any byte.
    return value.encode("utf-8", "surrogateescape")
