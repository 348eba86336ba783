"""Security and caching headers on every response (plain ASGI: no task or copy per
request)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NO_STORE = (b"cache-control", b"no-store")


class SecurityHeadersMiddleware:
    """``X-Content-Type-Options: nosniff`` on every response, HSTS where the API is only
    reached over HTTPS (``hsts``: deployed environments), and ``Cache-Control: no-store``
    on every response that sets no caching of its own: most answers are personal (a
    profile, a ledger, jobs, tokens), and one missed route would let a shared cache or
    the browser keep it."""

    def __init__(self, app: ASGIApp, hsts: bool) -> None:
        self.app = app
        self.headers = [(b"x-content-type-options", b"nosniff")]
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), *self.headers]
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append(NO_STORE)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
