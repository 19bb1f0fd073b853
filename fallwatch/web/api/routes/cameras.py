"""/api/cameras: list, add, edit, pause, resume, remove (kept in the database)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from fallwatch.config.server import CameraConfig
from fallwatch.serve.cameras import CameraEntry
from fallwatch.serve.live import LiveHub
from fallwatch.sources.capture import redact_url
from fallwatch.web.api.deps import Admin, CamerasDep, HubDep, Operator, Viewer
from fallwatch.web.schemas import CameraPublic, CameraStatsPublic, errors

router = APIRouter(prefix="/api/cameras", tags=["cameras"], responses=errors(401, 422))


def camera_public(hub: LiveHub, entry: CameraEntry) -> CameraPublic:
    cam = entry.config
    report = hub.worker(cam.id)
    stats = hub.stats(cam.id)
    config = cam.model_dump(mode="json")
    if cam.url is not None:
        config["url"] = redact_url(cam.url)
    return CameraPublic(
        id=cam.id,
        name=cam.label,
        location=cam.location,
        source=redact_url(cam.url) if cam.url is not None else str(cam.path),
        source_kind="stream" if cam.url is not None else "file",
        analysis_fps=cam.analysis_fps,
        privacy=cam.privacy,
        enabled=cam.enabled,
        paused=entry.paused,
        origin=entry.origin,
        worker=report.state.value if report else ("paused" if entry.paused else "starting"),
        worker_message=report.message if report else "",
        restarts=report.restarts if report else 0,
        stats=None
        if stats is None
        else CameraStatsPublic(
            connection=stats.connection.value,
            analysis_fps=stats.analysis_fps,
            target_fps=stats.target_fps,
            source_fps=stats.source_fps,
            frames=stats.frames,
            analysed=stats.analysed,
            dropped=stats.dropped,
            inference_ms=stats.inference_ms,
            latency_ms=stats.latency_ms,
            reconnects=stats.reconnects,
            stalls=stats.stalls,
            last_error=stats.last_error,
            retry_in_s=stats.retry_in_s,
            people=stats.people,
            age_s=round(max(0.0, time.time() - stats.wall_time), 1),
            rate_mode=stats.rate_mode,
            rate_reason=stats.rate_reason,
            idle_fps=cam.idle_rate_fps if cam.gated else None,
        ),
        config=config,
    )


@router.get("", response_model=list[CameraPublic], summary="Every camera with its live figures")
def list_cameras(cameras: CamerasDep, hub: HubDep, _: Viewer) -> list[CameraPublic]:
    return [camera_public(hub, e) for e in cameras.list()]


@router.get("/{camera_id}", response_model=CameraPublic, responses=errors(404))
def get_camera(camera_id: str, cameras: CamerasDep, hub: HubDep, _: Viewer) -> CameraPublic:
    return camera_public(hub, cameras.get(camera_id))


@router.post(
    "",
    response_model=CameraPublic,
    status_code=201,
    summary="Add a camera (admin)",
    responses=errors(400, 403, 409, 413),
)
def add_camera(camera: CameraConfig, cameras: CamerasDep, hub: HubDep, _: Admin) -> CameraPublic:
    return camera_public(hub, cameras.add(camera))


@router.patch(
    "/{camera_id}",
    response_model=CameraPublic,
    summary="Change some of a camera's settings (admin)",
    responses=errors(400, 403, 404, 409, 413),
)
def edit_camera(
    camera_id: str,
    changes: Annotated[dict[str, Any], Body(description="Fields of the camera config to change.")],
    cameras: CamerasDep,
    hub: HubDep,
    _: Admin,
) -> CameraPublic:
    return camera_public(hub, cameras.update(camera_id, changes))


@router.post(
    "/{camera_id}/pause",
    response_model=CameraPublic,
    summary="Stop analysing (operator)",
    responses=errors(403, 404),
)
def pause_camera(camera_id: str, cameras: CamerasDep, hub: HubDep, _: Operator) -> CameraPublic:
    return camera_public(hub, cameras.pause(camera_id, True))


@router.post(
    "/{camera_id}/resume",
    response_model=CameraPublic,
    summary="Analyse again (operator)",
    responses=errors(403, 404),
)
def resume_camera(camera_id: str, cameras: CamerasDep, hub: HubDep, _: Operator) -> CameraPublic:
    return camera_public(hub, cameras.pause(camera_id, False))


@router.delete(
    "/{camera_id}",
    status_code=204,
    summary="Remove a camera added here (admin)",
    responses=errors(403, 404, 409),
)
def remove_camera(camera_id: str, cameras: CamerasDep, _: Admin) -> Response:
    cameras.remove(camera_id)
    return Response(status_code=204)
