"""The FastAPI app factory: routes, templates, static files and error handlers.

Everything the routes need is on `app.state.server` (a `FallwatchServer`), handed to
them part by part through the dependencies in `api.deps`; nothing is created at import
time. Errors: domain exceptions map to 404/409/400 here, validation
errors to 422 with a one-line `detail` naming each bad field, so a malformed request
never surfaces as a 500.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from fallwatch import __version__
from fallwatch.serve.app import FallwatchServer
from fallwatch.store.errors import Conflict, NotFound
from fallwatch.web.api.deps import SESSION_COOKIE, NotAuthenticated
from fallwatch.web.api.routes import (
    auth,
    cameras,
    events,
    health,
    pages,
    streams,
    users,
)
from fallwatch.web.api.routes.health import DOCS_ASSETS_URL
from fallwatch.web.locale import i18n_context
from fallwatch.web.middleware import (
    BodyLimitMiddleware,
    PageHeadMiddleware,
    RenewedCookieMiddleware,
    SecurityHeadersMiddleware,
)

HERE = Path(__file__).parent


def _errors_text(errors: list[Any]) -> str:
    parts = []
    for err in errors:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{loc}: {str(err.get('msg', 'invalid')).removeprefix('Value error, ')}")
    return "; ".join(parts)


def _wants_page(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api/") or path == "/metrics")


def create_app(server: FallwatchServer) -> FastAPI:
    app = FastAPI(
        title="Fallwatch",
        version=__version__,
        description="Control room API: cameras, live streams, fall events and alerts. "
        "Authenticate with `Authorization: Bearer <API token>` (create tokens as an admin "
        "under /api/tokens) or the session cookie of the web page.",
        # The built-in docs routes answer without credentials; ours (in `health`) do not.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.server = server
    app.state.templates = make_templates()
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    mount_docs_assets(app)

    @app.exception_handler(NotAuthenticated)
    async def not_authenticated(request: Request, exc: NotAuthenticated) -> Response:
        # A bad Authorization header is not fixed by the login page: 401, not a redirect.
        if _wants_page(request) and request.method in ("GET", "HEAD") and not exc.bad_header:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return JSONResponse(
            {"detail": exc.detail},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        errors = list(exc.errors())
        return JSONResponse(
            {"detail": _errors_text(errors), "errors": _jsonable(errors)},
            status_code=422,
        )

    @app.exception_handler(ValidationError)
    async def bad_model(request: Request, exc: ValidationError) -> Response:
        errors = list(exc.errors())
        return JSONResponse(
            {"detail": _errors_text(errors), "errors": _jsonable(errors)},
            status_code=422,
        )

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: Exception) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(Conflict)
    async def conflict(request: Request, exc: Conflict) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return JSONResponse(
            {"detail": exc.detail},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    for module in (health, auth, pages, cameras, events, streams, users):
        app.include_router(module.router)
    # The last added is the outermost: the headers go on the body limit's 413 too.
    app.add_middleware(RenewedCookieMiddleware, cookie_name=SESSION_COOKIE)
    app.add_middleware(PageHeadMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=server.config.web.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)
    return app


def make_templates() -> Jinja2Templates:
    """The page templates. Text shown to people is written `{{ _("...") }}` (gettext): each
    render gets the request's catalog in its context (`web.locale.i18n_context`); the
    environment's own null translations (English) only serve renders without one."""
    templates = Jinja2Templates(
        directory=str(HERE / "templates"), context_processors=[i18n_context]
    )
    templates.env.add_extension("jinja2.ext.i18n")
    templates.env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    return templates


def mount_docs_assets(app: FastAPI) -> None:
    """Swagger UI's script, styles and icon at `DOCS_ASSETS_URL`, from the copy that
    `fastapi-offline` ships (a `server` dependency), so /api/docs needs no CDN."""
    try:
        import fastapi_offline
    except ImportError:
        return  # /api/docs then shows the bare page; /api/openapi.json still answers
    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount(DOCS_ASSETS_URL, StaticFiles(directory=str(assets)), name="docs-assets")


def _jsonable(errors: list[Any]) -> list[dict[str, Any]]:
    # `input` and `ctx` can hold non-JSON values (bytes, exceptions) or secrets.
    return [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors
    ]
