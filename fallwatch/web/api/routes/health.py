"""/healthz (no credentials: load balancers), /api/health (details), /metrics (Prometheus)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from fallwatch.pipeline.packets import WorkerState
from fallwatch.sources.capture import ConnectionState
from fallwatch.web.api.deps import ServerDep, Viewer
from fallwatch.web.metrics import build_registry
from fallwatch.web.schemas import HealthPublic

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: 200 when the database answers, else 503")
def healthz(server: ServerDep) -> Response:
    ok = server.database_ok()
    return JSONResponse(
        {"status": "ok" if ok else "database unreachable"},
        status_code=200 if ok else 503,
    )


@router.get(
    "/api/health", response_model=HealthPublic, summary="Cameras, workers, outbox"
)
def health(server: ServerDep, _: Viewer) -> HealthPublic:
    cameras = {}
    degraded = False
    for entry in server.cameras.list():
        report = server.hub.worker(entry.config.id)
        stats = server.hub.stats(entry.config.id)
        state = report.state.value if report else "starting"
        if (
            stats is not None
            and report is not None
            and report.state is WorkerState.RUNNING
        ):
            state = f"{state}/{stats.connection.value}"
            degraded |= stats.connection is ConnectionState.DISCONNECTED
        degraded |= report is not None and report.state is WorkerState.RESTARTING
        cameras[entry.config.id] = state
    db = server.database_ok()
    counts = server.alert_counts() if db else {}
    return HealthPublic(
        status="ok" if db and not degraded else "degraded",
        database=db,
        uptime_s=round(time.time() - (server.started_at or time.time()), 1),
        cameras=cameras,
        alerts=counts,
        open_events=len(server.open_events()) if db else 0,
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics (per camera fps, dropped, inference, reconnects, events)",
)
def metrics(request: Request, server: ServerDep, _: Viewer) -> Response:
    registry = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        registry = request.app.state.metrics_registry = build_registry(server)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/openapi.json", include_in_schema=False)
def openapi(request: Request, _: Viewer) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/api/docs", include_in_schema=False)
def docs(_: Viewer) -> Response:
    # Swagger UI's script and styles come from a CDN: offline sites read /api/openapi.json.
    return get_swagger_ui_html(openapi_url="/api/openapi.json", title="Fallwatch API")
