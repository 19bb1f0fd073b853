"""/api/cameras: list, add, edit, pause, resume, remove (kept in the database)."""

from __future__ import annotations

import time
from typing import Annotated, Any

import cv2
import numpy as np
import yaml
from fastapi import APIRouter, Body, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field

from fallwatch.config.fall import ZoneConfig
from fallwatch.config.server import CameraConfig
from fallwatch.serve.cameras import CameraEntry, CameraService
from fallwatch.serve.live import LiveHub
from fallwatch.serve.reads import EventReader
from fallwatch.serve.status import live_status
from fallwatch.sources.capture import redact_url
from fallwatch.types import CameraOrigin
from fallwatch.web.api.deps import Admin, CamerasDep, EventsDep, HubDep, Operator, Viewer
from fallwatch.web.schemas import CameraPublic, CameraStatsPublic, errors

router = APIRouter(prefix="/api/cameras", tags=["cameras"], responses=errors(401, 422))


def camera_public(
    hub: LiveHub, entry: CameraEntry, alarm_event_id: int | None = None
) -> CameraPublic:
    cam = entry.config
    report = hub.worker(cam.id)
    stats = hub.stats(cam.id)
    now_s = time.time()
    status = live_status(entry, hub, now_s=now_s)
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
        status=status.status,
        status_reason=status.reason,
        alarm_event_id=alarm_event_id,
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
            dropped_per_s=_round(hub.dropped_per_s(cam.id), 1),
            inference_ms=stats.inference_ms,
            latency_ms=stats.latency_ms,
            reconnects=stats.reconnects,
            stalls=stats.stalls,
            last_error=stats.last_error,
            retry_in_s=stats.retry_in_s,
            people=stats.people,
            age_s=round(max(0.0, now_s - stats.wall_time), 1),
            rate_mode=stats.rate_mode,
            rate_reason=stats.rate_reason,
            idle_fps=cam.idle_rate_fps if cam.gated else None,
        ),
        config=config,
    )


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def alarms_by_camera(events: EventReader) -> dict[str, int]:
    """Camera id -> its newest open alarm (open or suppressed: nobody has taken it on)."""
    found: dict[str, int] = {}
    for row in events.open():  # newest first
        found.setdefault(row.camera_id, row.id)
    return found


def cameras_public(cameras: CameraService, hub: LiveHub, events: EventReader) -> list[CameraPublic]:
    """Every camera, those with an open alarm first (newest alarm first), then by id."""
    alarms = alarms_by_camera(events)
    shown = [camera_public(hub, e, alarms.get(e.config.id)) for e in cameras.list()]
    return sorted(shown, key=lambda c: -(c.alarm_event_id or 0))


@router.get(
    "",
    response_model=list[CameraPublic],
    summary="Every camera with its status and live figures; those with an open alarm first",
)
def list_cameras(
    cameras: CamerasDep, hub: HubDep, events: EventsDep, _: Viewer
) -> list[CameraPublic]:
    return cameras_public(cameras, hub, events)


@router.get("/{camera_id}", response_model=CameraPublic, responses=errors(404))
def get_camera(
    camera_id: str, cameras: CamerasDep, hub: HubDep, events: EventsDep, _: Viewer
) -> CameraPublic:
    entry = cameras.get(camera_id)
    return camera_public(hub, entry, alarms_by_camera(events).get(camera_id))


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


# --- ignore zones, for the zone editor (/cameras/{id}/zones) ---------------------------

MAX_ZONES = 32


class ZonesIn(BaseModel):
    """A camera's complete list of ignore zones (it replaces the list it had)."""

    model_config = ConfigDict(extra="forbid")

    zones: list[ZoneConfig] = Field(
        max_length=MAX_ZONES,
        description="Polygons in pixels of the camera's source frame (not of a scaled JPEG).",
    )


class FrameSizePublic(BaseModel):
    width_px: int = Field(description="Width of the camera's source frame, pixels.")
    height_px: int = Field(description="Height of the camera's source frame, pixels.")


class ZonesPublic(BaseModel):
    camera_id: str
    origin: CameraOrigin
    editable: bool = Field(
        description="True when zones are saved here (API cameras); config-file cameras "
        "take theirs from the file: see `yaml`."
    )
    zones: list[ZoneConfig]
    yaml: str = Field(
        description="The camera's `fall:` section with these zones, ready to paste into "
        "its entry in the config file."
    )
    frame: FrameSizePublic | None = Field(
        description="Size of the newest frame (the pixels zones are in); none before the "
        "first frame."
    )


class _FlowListDumper(yaml.SafeDumper):
    """Block YAML, except lists of numbers ([x, y] and a polygon's corners) on one line."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flat = all(
        isinstance(v, int | float)
        or (isinstance(v, list) and all(isinstance(w, int | float) for w in v))
        for v in data
    )
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat and bool(data))


_FlowListDumper.add_representer(list, _represent_list)


def _pixel(v: float) -> int | float:
    return int(v) if float(v).is_integer() else v


def fall_yaml(camera: CameraConfig, zones: list[ZoneConfig]) -> str:
    """The camera's `fall:` section (what its config sets) with `zones` in place, as YAML."""
    fall = camera.fall.model_dump(mode="json", exclude_unset=True)
    fall["zones"] = [
        {"name": z.name, "polygon_xy": [[_pixel(x), _pixel(y)] for x, y in z.polygon_xy]}
        for z in zones
    ]
    body = yaml.dump(
        {"fall": fall}, Dumper=_FlowListDumper, sort_keys=False, allow_unicode=True, width=100
    )
    return f"# camera {camera.id!r}: this replaces the fall: section of its entry\n{body}"


def _fall_with(camera: CameraConfig, zones: list[ZoneConfig]) -> dict[str, Any]:
    """The camera's whole `fall` section as JSON, its zones replaced by `zones`."""
    fall = camera.fall.model_dump(mode="json")
    fall["zones"] = [z.model_dump(mode="json") for z in zones]
    return fall


def _zones_public(hub: LiveHub, entry: CameraEntry, zones: list[ZoneConfig]) -> ZonesPublic:
    packet = hub.latest(entry.config.id)
    wh = None if packet is None else packet.frame_wh
    return ZonesPublic(
        camera_id=entry.config.id,
        origin=entry.origin,
        editable=entry.origin is CameraOrigin.API,
        zones=zones,
        yaml=fall_yaml(entry.config, zones),
        frame=None if wh is None else FrameSizePublic(width_px=wh[0], height_px=wh[1]),
    )


@router.get(
    "/{camera_id}/zones",
    response_model=ZonesPublic,
    summary="The camera's ignore zones, with the frame size they are in",
    responses=errors(404),
)
def get_zones(camera_id: str, cameras: CamerasDep, hub: HubDep, _: Viewer) -> ZonesPublic:
    entry = cameras.get(camera_id)
    return _zones_public(hub, entry, entry.config.fall.zones)


@router.put(
    "/{camera_id}/zones",
    response_model=ZonesPublic,
    summary="Replace an API camera's ignore zones (admin); its worker restarts with them",
    responses=errors(400, 403, 404, 409, 413),
)
def put_zones(
    camera_id: str, body: ZonesIn, cameras: CamerasDep, hub: HubDep, _: Admin
) -> ZonesPublic:
    entry = cameras.get(camera_id)
    if entry.origin is CameraOrigin.CONFIG:
        raise HTTPException(
            409,
            f"camera {camera_id!r} is defined in the config file, which is the source of "
            "truth for its zones: paste the zone editor's YAML into its entry there and restart",
        )
    entry = cameras.update(camera_id, {"fall": _fall_with(entry.config, body.zones)})
    return _zones_public(hub, entry, entry.config.fall.zones)


@router.post(
    "/{camera_id}/zones/check",
    response_model=ZonesPublic,
    summary="Validate zones without saving them; answers with their config-file YAML",
    responses=errors(400, 403, 404, 413),
)
def check_zones(
    camera_id: str, body: ZonesIn, cameras: CamerasDep, hub: HubDep, _: Operator
) -> ZonesPublic:
    entry = cameras.get(camera_id)
    # Validated as the whole camera, as a save or the config loader would.
    camera = entry.config.model_dump(mode="json")
    CameraConfig.model_validate({**camera, "fall": _fall_with(entry.config, body.zones)})
    return _zones_public(hub, entry, body.zones)


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """The JPEG's own size: right only when it was not scaled (packets from before
    `FramePacket.frame_wh`)."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    return None if image is None else (int(image.shape[1]), int(image.shape[0]))


@router.get(
    "/{camera_id}/frame.jpg",
    summary="The newest picture to draw zones on, with the source frame's size",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, **errors(404)},
)
def zone_frame(camera_id: str, cameras: CamerasDep, _: Viewer) -> Response:
    """The raw picture, or the annotated one for privacy cameras (their picture never
    leaves the worker) or when the worker sends no raw one within ~2 s (workers send it
    only on demand: this asks); `X-View` says which. The JPEG may be scaled down
    (`max_width_px`); `X-Frame-Width` and `X-Frame-Height` give the source frame's
    pixels, which zones are in."""
    entry = cameras.get(camera_id)
    packet = cameras.raw_or_latest(camera_id)
    if packet is None:
        raise HTTPException(404, f"no frame from camera {camera_id!r} yet")
    raw = packet.raw_jpeg if not entry.config.privacy else None
    data = raw if raw is not None else packet.annotated_jpeg
    wh = packet.frame_wh or _jpeg_size(data)
    if wh is None:
        raise HTTPException(404, f"no readable frame from camera {camera_id!r} yet")
    return Response(
        data,
        media_type="image/jpeg",
        headers={
            "Cache-Control": "no-store",
            "X-Frame-Width": str(wh[0]),
            "X-Frame-Height": str(wh[1]),
            "X-View": "raw" if raw is not None else "annotated",
        },
    )
