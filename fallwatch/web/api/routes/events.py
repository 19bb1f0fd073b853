"""/api/events: list, read, acknowledge, resolve; snapshot, clip and alert delivery log;
/api/alerts: every event's alerts, filtered by delivery status or channel."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Query
from fastapi.responses import FileResponse

from fallwatch.serve.cameras import CameraService
from fallwatch.serve.media import MediaStore
from fallwatch.serve.reads import EventReader
from fallwatch.store.events import EventRow
from fallwatch.types import AlertStatus, EventState
from fallwatch.web.api.deps import (
    ActionsDep,
    AlertsDep,
    BeforeId,
    CamerasDep,
    EventId,
    EventsDep,
    MediaDep,
    Operator,
    UtcQueryTime,
    Viewer,
)
from fallwatch.web.schemas import ActionInput, AlertPublic, EventPublic, errors

router = APIRouter(tags=["events"], responses=errors(401, 422))
ACTION_ERRORS = errors(400, 403, 404, 413)


def _media_file(media: MediaStore, path: str | None) -> Path | None:
    return None if path is None else media.contains(path)


def event_public(row: EventRow, cameras: CameraService, media: MediaStore) -> EventPublic:
    camera = cameras.config_of(row.camera_id)
    has_snapshot = _media_file(media, row.snapshot_path) is not None
    has_clip = _media_file(media, row.clip_path) is not None
    # The row's fields as they are, plus what only the server knows: the camera's name
    # and the media URLs (the row's file paths are not public and are ignored).
    return EventPublic.model_validate(
        {
            **asdict(row),
            "camera_name": camera.label if camera else row.camera_id,
            "snapshot_url": f"/api/events/{row.id}/snapshot.jpg" if has_snapshot else None,
            "clip_url": f"/api/events/{row.id}/clip{Path(row.clip_path or '').suffix}"
            if has_clip
            else None,
        }
    )


@dataclass(frozen=True)
class EventFilter:
    """What an events list shows (the API's and the events page's query, the same)."""

    states: list[EventState] | None
    camera_id: str | None
    since: datetime | None
    until: datetime | None
    text: str | None
    before_id: int | None

    def find(self, events: EventReader, cameras: CameraService, limit: int) -> list[EventRow]:
        """Matching events, newest first."""
        text = (self.text or "").strip().casefold() or None
        # Camera names and places are in the config, not in the event rows: match here.
        named = [
            e.config.id
            for e in cameras.list()
            if text is not None
            and any(text in v.casefold() for v in (e.config.id, e.config.label, e.config.location))
        ]
        return events.list_events(
            states=self.states,
            camera_id=self.camera_id,
            before_id=self.before_id,
            since=self.since,
            until=self.until,
            text=text,
            text_camera_ids=named,
            limit=limit,
        )


def event_filter(
    state: Annotated[
        list[EventState] | None, Query(description="Only these states (repeat).")
    ] = None,
    camera_id: Annotated[
        str | None, Query(max_length=64, description="Only this camera; empty: every camera.")
    ] = None,
    since: Annotated[
        UtcQueryTime | None,
        Query(description="Only events raised at or after this time (ISO 8601 with a zone)."),
    ] = None,
    until: Annotated[
        UtcQueryTime | None,
        Query(description="Only events raised before this time (ISO 8601 with a zone)."),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            description="Only events whose camera id, name or location contains this (any case).",
        ),
    ] = None,
    before_id: BeforeId = None,
) -> EventFilter:
    return EventFilter(state, camera_id or None, since, until, q, before_id)


EventFilterDep = Annotated[EventFilter, Depends(event_filter)]


@router.get("/api/events", response_model=list[EventPublic], summary="Events, newest first")
def list_events(
    events: EventsDep,
    cameras: CamerasDep,
    media: MediaDep,
    _: Viewer,
    where: EventFilterDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[EventPublic]:
    return [event_public(r, cameras, media) for r in where.find(events, cameras, limit)]


@router.get("/api/events/{event_id}", response_model=EventPublic, responses=errors(404))
def get_event(
    event_id: EventId,
    events: EventsDep,
    cameras: CamerasDep,
    media: MediaDep,
    _: Viewer,
) -> EventPublic:
    return event_public(events.read(event_id), cameras, media)


@router.post(
    "/api/events/{event_id}/acknowledge",
    response_model=EventPublic,
    summary="Take the event on (operator)",
    responses=ACTION_ERRORS,
)
def acknowledge(
    event_id: EventId,
    actions: ActionsDep,
    cameras: CamerasDep,
    media: MediaDep,
    who: Operator,
    body: Annotated[ActionInput | None, Body()] = None,
) -> EventPublic:
    row = actions.acknowledge(event_id, by=who.name, note=body.note if body else None)
    return event_public(row, cameras, media)


@router.post(
    "/api/events/{event_id}/resolve",
    response_model=EventPublic,
    summary="Close the event (operator)",
    responses=ACTION_ERRORS,
)
def resolve(
    event_id: EventId,
    actions: ActionsDep,
    cameras: CamerasDep,
    media: MediaDep,
    who: Operator,
    body: Annotated[ActionInput | None, Body()] = None,
) -> EventPublic:
    row = actions.resolve(event_id, by=who.name, note=body.note if body else None)
    return event_public(row, cameras, media)


@router.get(
    "/api/events/{event_id}/alerts",
    response_model=list[AlertPublic],
    summary="Alerts and every delivery attempt",
    responses=errors(404),
)
def event_alerts(event_id: EventId, alerts: AlertsDep, _: Viewer) -> list[AlertPublic]:
    # AlertView carries exactly the public fields; pydantic reads them (and the nested
    # attempts) by attribute rather than a hand-written copy of each one.
    return [AlertPublic.model_validate(a) for a in alerts.of_event(event_id)]


@router.get(
    "/api/alerts",
    response_model=list[AlertPublic],
    summary="Alerts of all events, newest first, with every delivery attempt",
)
def list_alerts(
    alerts: AlertsDep,
    _: Viewer,
    status: Annotated[
        list[AlertStatus] | None,
        Query(description="Only these delivery statuses (repeat), e.g. failed."),
    ] = None,
    channel: Annotated[
        str | None, Query(max_length=64, description="Only this channel (its name in the config).")
    ] = None,
    since: Annotated[
        UtcQueryTime | None,
        Query(description="Only alerts created at or after this time (ISO 8601 with a zone)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Alerts to skip (paging).")] = 0,
) -> list[AlertPublic]:
    rows = alerts.list_alerts(
        statuses=status, channel=channel, since=since, limit=limit, offset=offset
    )
    return [AlertPublic.model_validate(a) for a in rows]


@router.get(
    "/api/alerts/counts",
    response_model=dict[str, int],
    summary="Alerts per delivery status",
)
def alert_counts(alerts: AlertsDep, _: Viewer) -> dict[str, int]:
    return alerts.counts()


def _media(media: MediaStore, path: str | None, what: str, media_type: str) -> FileResponse:
    file = _media_file(media, path)
    if file is None:
        raise HTTPException(404, f"this event has no {what} (yet)")
    return FileResponse(
        file, media_type=media_type, headers={"Cache-Control": "private, max-age=3600"}
    )


@router.get(
    "/api/events/{event_id}/snapshot.jpg",
    response_class=FileResponse,
    summary="Annotated frame of the alert",
    responses={200: {"content": {"image/jpeg": {}}}, **errors(404)},
)
@router.get(
    "/events/{event_id}/snapshot.jpg",
    response_class=FileResponse,
    include_in_schema=False,
)
def snapshot(event_id: EventId, events: EventsDep, media: MediaDep, _: Viewer) -> FileResponse:
    return _media(media, events.read(event_id).snapshot_path, "snapshot", "image/jpeg")


def _clip(media: MediaStore, path: str | None, suffix: str, media_type: str) -> FileResponse:
    # The event's `clip_url` names the one the server wrote; the other answers 404.
    return _media(media, path if path and path.endswith(suffix) else None, "clip", media_type)


@router.get(
    "/api/events/{event_id}/clip.mp4",
    response_class=FileResponse,
    summary="Clip around the alert (H.264 in MP4)",
    responses={200: {"content": {"video/mp4": {}}}, **errors(404)},
)
def clip_mp4(event_id: EventId, events: EventsDep, media: MediaDep, _: Viewer) -> FileResponse:
    return _clip(media, events.read(event_id).clip_path, ".mp4", "video/mp4")


@router.get(
    "/api/events/{event_id}/clip.webm",
    response_class=FileResponse,
    summary="Clip around the alert (WebM, where the server has no H.264 encoder)",
    responses={200: {"content": {"video/webm": {}}}, **errors(404)},
)
def clip(event_id: EventId, events: EventsDep, media: MediaDep, _: Viewer) -> FileResponse:
    return _clip(media, events.read(event_id).clip_path, ".webm", "video/webm")
