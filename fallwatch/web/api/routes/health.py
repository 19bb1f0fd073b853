"""/healthz (no credentials: load balancers), /api/health (details), /metrics (Prometheus)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from fallwatch.pipeline.packets import WorkerState
from fallwatch.sources.capture import ConnectionState
from fallwatch.web.api.deps import (
    AlertsDep,
    CamerasDep,
    CountersDep,
    DatabaseDep,
    EventsDep,
    HubDep,
    ServerDep,
    Viewer,
)
from fallwatch.web.metrics import build_registry
from fallwatch.web.schemas import HealthPublic, HealthzPublic, errors

router = APIRouter(tags=["health"])

DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


@router.get(
    "/healthz",
    summary="Liveness: 200 when the database answers, else 503",
    response_model=HealthzPublic,
    responses={503: {"model": HealthzPublic, "description": "The database does not answer."}},
)
def healthz(database: DatabaseDep) -> Response:
    ok = database.ok()
    return JSONResponse(
        {"status": "ok" if ok else "database unreachable"},
        status_code=200 if ok else 503,
    )


@router.get(
    "/api/health",
    response_model=HealthPublic,
    summary="Cameras, workers, outbox",
    responses=errors(401),
)
def health(
    server: ServerDep,
    cameras: CamerasDep,
    hub: HubDep,
    database: DatabaseDep,
    events: EventsDep,
    alerts: AlertsDep,
    _: Viewer,
) -> HealthPublic:
    states = {}
    degraded = False
    for entry in cameras.list():
        report = hub.worker(entry.config.id)
        stats = hub.stats(entry.config.id)
        state = report.state.value if report else "starting"
        if stats is not None and report is not None and report.state is WorkerState.RUNNING:
            state = f"{state}/{stats.connection.value}"
            degraded |= stats.connection in (ConnectionState.DISCONNECTED, ConnectionState.STALLED)
        degraded |= report is not None and report.state is WorkerState.RESTARTING
        states[entry.config.id] = state
    db = database.ok()
    counts = alerts.counts() if db else {}
    return HealthPublic(
        status="ok" if db and not degraded else "degraded",
        database=db,
        uptime_s=round(time.time() - (server.started_at or time.time()), 1),
        cameras=states,
        alerts=counts,
        open_events=len(events.open()) if db else 0,
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics (per camera fps, dropped, inference, reconnects, events)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, **errors(401)},
)
def metrics(request: Request, hub: HubDep, counters: CountersDep, _: Viewer) -> Response:
    registry = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        registry = request.app.state.metrics_registry = build_registry(hub, counters)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/openapi.json", include_in_schema=False)
def openapi(request: Request, _: Viewer) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/api/docs", include_in_schema=False)
def docs(_: Viewer) -> Response:
    # Swagger UI's script and styles come from a CDN: offline sites read /api/openapi.json.
    page = get_swagger_ui_html(openapi_url="/api/openapi.json", title="Fallwatch API")
    # Swagger UI needs its CDN and one inline script: this page alone allows them.
    page.headers["Content-Security-Policy"] = DOCS_CSP
    return page
