"""/healthz (no credentials: load balancers), /api/health (details), /metrics (Prometheus)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from fallwatch.pipeline.packets import WorkerState
from fallwatch.serve.status import CameraStatus, live_status
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

UNHEALTHY = frozenset({CameraStatus.NO_SIGNAL, CameraStatus.STALLED, CameraStatus.RESTARTING})
"""Camera statuses that make /api/health say "degraded"."""

router = APIRouter(tags=["health"])

DOCS_ASSETS_URL = "/api/docs/assets"
"""Swagger UI's files, served by the app itself (`web.app.mount_docs_assets`)."""
DOCS_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Fallwatch API</title>
<link rel="stylesheet" href="{DOCS_ASSETS_URL}/swagger-ui.css">
<link rel="icon" href="{DOCS_ASSETS_URL}/favicon.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/api/openapi.json"></div>
<script src="{DOCS_ASSETS_URL}/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


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
    statuses = {}
    degraded = False
    now_s = time.time()
    for entry in cameras.list():
        cid = entry.config.id
        report = hub.worker(cid)
        stats = hub.stats(cid)
        state = report.state.value if report else "starting"
        if stats is not None and report is not None and report.state is WorkerState.RUNNING:
            state = f"{state}/{stats.connection.value}"
        states[cid] = state
        # The same status the dashboard shows: a worker that says "connected" but has sent
        # no frame or figures for seconds is stalled here too.
        line = live_status(entry, hub, now_s=now_s)
        statuses[cid] = line.status.value
        degraded |= line.status in UNHEALTHY
    db = database.ok()
    counts = alerts.counts() if db else {}
    return HealthPublic(
        status="ok" if db and not degraded else "degraded",
        database=db,
        uptime_s=round(time.time() - (server.started_at or time.time()), 1),
        cameras=states,
        camera_status=statuses,
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
    # Every file from this server (no CDN: it works offline) under the pages' own
    # Content-Security-Policy: the page starts Swagger UI from a file, not inline.
    return HTMLResponse(DOCS_PAGE)
