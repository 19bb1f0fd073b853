"""Log in and out (the pages); the login form is protected by a double-submit CSRF cookie."""

from __future__ import annotations

import gettext
import math
import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from fallwatch.i18n import translations
from fallwatch.serve.auth import LoginResult
from fallwatch.web.api.deps import (
    SESSION_COOKIE,
    MaybePrincipal,
    ServerDep,
    Viewer,
    templates,
)
from fallwatch.web.locale import request_locale

router = APIRouter(tags=["auth"], include_in_schema=False)

LOGIN_CSRF_COOKIE = "fw_login_csrf"


def _safe_next(target: str | None) -> str:
    # Only local paths: never bounce a user to another site after logging in. Browsers
    # read "/\\host" like "//host", so backslashes are refused too.
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or urlsplit(target).netloc
    ):
        return "/"
    return target


def _login_page(
    request: Request, error: str | None = None, status: int = 200, next_url: str = "/"
) -> Response:
    token = secrets.token_urlsafe(16)
    response = templates(request).TemplateResponse(
        request,
        "login.html",
        {"error": error, "login_csrf": token, "next": next_url},
        status_code=status,
    )
    server = request.app.state.server
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=server.config.web.secure_cookies,
        max_age=3600,
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, principal: MaybePrincipal, next: str | None = None) -> Response:
    if principal is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, next_url=_safe_next(next))


@router.post("/login")
async def login(
    request: Request,
    server: ServerDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    login_csrf: Annotated[str, Form(max_length=64)],
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not cookie or not secrets.compare_digest(cookie, login_csrf):
        error = _catalog(request).gettext("Your login form expired; please try again.")
        return _login_page(request, error, 400, _safe_next(next))
    address = request.client.host if request.client else "unknown"
    result = await run_in_threadpool(server.auth.login, username, password, address)
    if result.cookie is None:
        return _refused(request, result, _safe_next(next))
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        result.cookie,
        max_age=server.config.web.session_max_age_s,
        httponly=True,
        samesite="lax",
        secure=server.config.web.secure_cookies,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


def _catalog(request: Request) -> gettext.NullTranslations:
    """The login page's language."""
    return translations(request_locale(request))


def _refused(request: Request, result: LoginResult, next_url: str) -> Response:
    gettext = _catalog(request).gettext
    if result.failure == "throttled":
        wait = math.ceil(result.retry_after_s)
        error = gettext("Too many failed logins: try again in {wait} s.").format(wait=wait)
        status = 429
    elif result.failure == "busy":
        wait = math.ceil(result.retry_after_s)
        error, status = gettext("The server is busy: try again in a moment."), 503
    else:
        return _login_page(request, gettext("Wrong user name or password."), 401, next_url)
    response = _login_page(request, error, status, next_url)
    response.headers["Retry-After"] = str(max(1, wait))
    return response


@router.post("/logout")
async def logout(principal: Viewer, server: ServerDep) -> Response:
    if principal.session is not None:
        await run_in_threadpool(server.auth.logout, principal.session)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
