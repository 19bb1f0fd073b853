"""Shared dependencies: the server's parts, who is asking, and what they may do.

Credentials, in this order: `Authorization: Bearer <API token>` (integrations, Prometheus)
or the `fw_session` cookie (the pages). Cookie-authenticated unsafe requests need the
CSRF token (`X-CSRF-Token` header, or a `csrf_token` form field). A session past half its
age is renewed by any request (sliding): the new cookie goes out with the answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from pydantic import AfterValidator, AwareDatetime
from starlette.concurrency import run_in_threadpool

from fallwatch.serve.actions import EventActions
from fallwatch.serve.app import FallwatchServer
from fallwatch.serve.auth import AuthService, Principal
from fallwatch.serve.bus import NoticeBus
from fallwatch.serve.cameras import CameraService
from fallwatch.serve.counters import ServerCounters
from fallwatch.serve.live import LiveHub
from fallwatch.serve.media import MediaStore
from fallwatch.serve.reads import AlertReader, DatabaseProbe, EventReader
from fallwatch.serve.security import SessionSigner
from fallwatch.types import Role
from fallwatch.web.schemas import MAX_ROW_ID

SESSION_COOKIE = "fw_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class NotAuthenticated(Exception):
    """No valid credentials: pages redirect to the login page, the API answers 401."""

    def __init__(
        self,
        detail: str = "log in, or send 'Authorization: Bearer <API token>'",
        *,
        bad_header: bool = False,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.bad_header = bad_header


def get_server(request: Request) -> FallwatchServer:
    server: FallwatchServer = request.app.state.server
    return server


ServerDep = Annotated[FallwatchServer, Depends(get_server)]


# One dependency per part of the server a route may use, so a route names what it needs.


def get_cameras(server: ServerDep) -> CameraService:
    return server.cameras


def get_hub(server: ServerDep) -> LiveHub:
    return server.hub


def get_bus(server: ServerDep) -> NoticeBus:
    return server.bus


def get_media(server: ServerDep) -> MediaStore:
    return server.media


def get_events(server: ServerDep) -> EventReader:
    return server.events


def get_alerts(server: ServerDep) -> AlertReader:
    return server.alerts


def get_actions(server: ServerDep) -> EventActions:
    return server.actions


def get_database(server: ServerDep) -> DatabaseProbe:
    return server.database


def get_counters(server: ServerDep) -> ServerCounters:
    return server.counters


def get_auth(server: ServerDep) -> AuthService:
    return server.auth


def get_signer(server: ServerDep) -> SessionSigner:
    return server.signer


CamerasDep = Annotated[CameraService, Depends(get_cameras)]
HubDep = Annotated[LiveHub, Depends(get_hub)]
BusDep = Annotated[NoticeBus, Depends(get_bus)]
MediaDep = Annotated[MediaStore, Depends(get_media)]
EventsDep = Annotated[EventReader, Depends(get_events)]
AlertsDep = Annotated[AlertReader, Depends(get_alerts)]
ActionsDep = Annotated[EventActions, Depends(get_actions)]
DatabaseDep = Annotated[DatabaseProbe, Depends(get_database)]
CountersDep = Annotated[ServerCounters, Depends(get_counters)]
AuthDep = Annotated[AuthService, Depends(get_auth)]
SignerDep = Annotated[SessionSigner, Depends(get_signer)]


def templates(request: Request) -> Jinja2Templates:
    found: Jinja2Templates = request.app.state.templates
    return found


async def optional_principal(
    request: Request, auth_service: AuthDep, signer: SignerDep
) -> Principal | None:
    auth = request.headers.get("authorization")
    if auth is not None:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise NotAuthenticated(
                "the Authorization header must be 'Bearer <API token>'", bad_header=True
            )
        principal = await run_in_threadpool(auth_service.token_principal, value.strip())
        if principal is None:
            raise NotAuthenticated("unknown or revoked API token", bad_header=True)
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    data = signer.read(cookie)
    if data is None:
        return None
    principal = await run_in_threadpool(auth_service.session_principal, data)
    if principal is None:
        return None
    # The page's language (web.locale): the user's choice, read with the session.
    request.state.user_locale = principal.locale
    if principal.session is not None and principal.session != data:
        # Renewed (sliding session): `RenewedCookieMiddleware` sends the new cookie.
        request.state.renewed_cookie = session_cookie_header(
            request, signer.encode(principal.session), signer.max_age_s
        )
    if request.method not in SAFE_METHODS:
        token: str | None = request.headers.get("x-csrf-token")
        if token is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            form = await request.form()
            field = form.get("csrf_token")
            token = field if isinstance(field, str) else None
        if not signer.check_csrf(data, token):
            raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")
    return principal


def session_cookie_header(request: Request, cookie: str, max_age_s: int) -> str:
    """The Set-Cookie value for a session cookie, as the login sets it."""
    carrier = Response()
    carrier.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=max_age_s,
        httponly=True,
        samesite="lax",
        secure=request.app.state.server.config.web.secure_cookies,
    )
    return carrier.headers["set-cookie"]


async def login_page_principal(
    request: Request, auth_service: AuthDep, signer: SignerDep
) -> Principal | None:
    """Who is logged in, for the login page: bad credentials there just show the form."""
    try:
        return await optional_principal(request, auth_service, signer)
    except NotAuthenticated:
        return None


def require(role: Role) -> Callable[..., Awaitable[Principal]]:
    async def dependency(
        principal: Annotated[Principal | None, Depends(optional_principal)],
    ) -> Principal:
        if principal is None:
            raise NotAuthenticated()
        if not principal.allows(role):
            raise HTTPException(
                403,
                f"this needs the {role.value} role; {principal.name} is {principal.role.value}",
            )
        return principal

    return dependency


Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
# Who is logged in or None; bad credentials count as none (the login page uses it).
MaybePrincipal = Annotated[Principal | None, Depends(login_page_principal)]


# Row ids in paths and queries: within the database's integer range, so a huge number is
# a 422 rather than an overflow inside the driver.
EventId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="The event's id.")]
UserId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="The user's id.")]
TokenId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="The token's id.")]
BeforeId = Annotated[
    int | None, Query(ge=1, le=MAX_ROW_ID, description="Page: events older than this id.")
]


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # "9999-12-31T23:59:59-23:00" is a valid ISO time past datetime's range in UTC.
        raise ValueError("out of range once turned into UTC") from None


UtcQueryTime = Annotated[AwareDatetime, AfterValidator(_in_utc)]
"""A time in a query: ISO 8601 with its zone ("Z" or "+09:00"), turned into UTC; a time
without a zone is a 422, as its meaning would depend on the server's clock."""
