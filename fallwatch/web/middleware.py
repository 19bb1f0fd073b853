"""Pure ASGI middleware around the whole app: the request body limit and security headers.

Both work on the raw ASGI messages, so they hold for every route, page, static file and
error answer, and the body limit acts while the body is read: nothing over the limit is
ever buffered, parsed or handed to authentication.
"""

from __future__ import annotations

import json

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# What the templates and static files need: everything from this origin, no inline
# script or style (app.js and app.css are files), live frames and snapshots as images.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


class BodyTooLarge(HTTPException):
    """Raised from `receive` once a streamed body passes the limit; answered 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_text(limit), headers={"Connection": "close"})


def too_large_text(limit: int) -> str:
    return f"request body over the limit of {limit} bytes (web.max_body_bytes)"


async def _send_too_large(send: Send, limit: int) -> None:
    body = json.dumps({"detail": too_large_text(limit)}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The rest of the body is not wanted: the connection ends with the answer.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None  # the server itself refuses a malformed Content-Length


class BodyLimitMiddleware:
    """413 for a request body over `max_bytes`: a declared Content-Length at once, before
    the app sees the request; a chunked body as soon as the bytes read pass the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _send_too_large(send, self.max_bytes)
            return
        received = 0
        over = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    over = True
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except Exception:
            # The app's handlers answer BodyTooLarge themselves (an HTTPException); this
            # catches it where it escaped them, e.g. wrapped in an exception group.
            if not over or started:
                raise
            await _send_too_large(send, self.max_bytes)


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP answer that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class PageHeadMiddleware:
    """HEAD on a page (any path outside /api/ and /metrics) is answered as GET without
    the body, so monitors and link checkers get the page's status and headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if (
            scope["type"] != "http"
            or scope["method"] != "HEAD"
            or path.startswith("/api/")
            or path == "/metrics"
        ):
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


class RenewedCookieMiddleware:
    """Sends the session cookie a dependency renewed (`request.state.renewed_cookie`) with
    whatever answer goes out, pages and streams included; not when the answer sets that
    cookie itself (logging out deletes it)."""

    def __init__(self, app: ASGIApp, cookie_name: str) -> None:
        self.app = app
        self.prefix = f"{cookie_name}="

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = scope.get("state", {}).get("renewed_cookie")
                headers = MutableHeaders(scope=message)
                setting = [v for k, v in headers.items() if k == "set-cookie"]
                if cookie and not any(v.startswith(self.prefix) for v in setting):
                    headers.append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)
