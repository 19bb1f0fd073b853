"""The pages: dashboard (camera grid and open alarms), one camera, events list, one event; and for
admins users, API tokens and alert deliveries (their tables are filled by static/admin.js
from the JSON API)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from fallwatch.serve.auth import Principal
from fallwatch.types import AlertStatus, CameraOrigin, EventState, Role
from fallwatch.web.api.deps import (
    Admin,
    AlertsDep,
    CamerasDep,
    EventId,
    EventsDep,
    HubDep,
    MediaDep,
    Operator,
    Viewer,
    templates,
)
from fallwatch.web.api.routes.cameras import alarms_by_camera, camera_public, cameras_public
from fallwatch.web.api.routes.events import EventFilterDep, event_public

router = APIRouter(include_in_schema=False)

CAMERA_PAGE_EVENTS = 20
"""Recent events listed on a camera's page."""


def _context(request: Request, who: Principal, **extra: Any) -> dict[str, Any]:
    server = request.app.state.server
    return {
        "who": who,
        "csrf": server.signer.csrf_token(who.session) if who.session else "",
        "can_operate": who.allows(Role.OPERATOR),
        "is_admin": who.allows(Role.ADMIN),
        **extra,
    }


@router.get("/", response_class=HTMLResponse)
def dashboard(
    request: Request,
    cameras: CamerasDep,
    hub: HubDep,
    events: EventsDep,
    media: MediaDep,
    alerts: AlertsDep,
    who: Viewer,
) -> Response:
    tiles = cameras_public(cameras, hub, events)
    alarms = [event_public(r, cameras, media) for r in events.open()]
    failed = alerts.failed_since(datetime.now(UTC) - timedelta(hours=24))
    return templates(request).TemplateResponse(
        request,
        "dashboard.html",
        _context(
            request, who, cameras=tiles, alarms=alarms, failed_alerts=failed, page="dashboard"
        ),
    )


@router.get("/cameras/{camera_id}", response_class=HTMLResponse)
def camera_page(
    camera_id: str,
    request: Request,
    cameras: CamerasDep,
    hub: HubDep,
    events: EventsDep,
    media: MediaDep,
    who: Viewer,
) -> Response:
    """One camera, full size: its live picture (or why there is none), its status and its
    recent events; static/camera.js keeps them current."""
    entry = cameras.get(camera_id)
    camera = camera_public(hub, entry, alarms_by_camera(events).get(camera_id))
    rows = events.list_events(camera_id=camera_id, limit=CAMERA_PAGE_EVENTS)
    recent = [event_public(r, cameras, media) for r in rows]
    return templates(request).TemplateResponse(
        request,
        "camera.html",
        _context(request, who, camera=camera, events=recent, page="camera"),
    )


EVENTS_PAGE_SIZE = 50


@router.get("/events", response_class=HTMLResponse)
def events_page(
    request: Request,
    events: EventsDep,
    cameras: CamerasDep,
    media: MediaDep,
    who: Viewer,
    where: EventFilterDep,
) -> Response:
    rows = where.find(events, cameras, EVENTS_PAGE_SIZE)
    shown = [event_public(r, cameras, media) for r in rows]
    # The camera filter lists the known cameras, and keeps one a shared link names
    # that has since been removed.
    choices = [(e.config.id, e.config.label) for e in cameras.list()]
    if where.camera_id and where.camera_id not in {c for c, _ in choices}:
        choices.append((where.camera_id, where.camera_id))
    # "Older events" keeps the filter: the same query with the next page's before_id.
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "before_id"]
    older = (
        "/events?" + urlencode([*query, ("before_id", str(shown[-1].id))])
        if len(shown) == EVENTS_PAGE_SIZE
        else None
    )
    return templates(request).TemplateResponse(
        request,
        "events.html",
        _context(
            request,
            who,
            events=shown,
            page="events",
            states=[s.value for s in EventState],
            state=[s.value for s in where.states or []],
            cameras=choices,
            where=where,
            older_url=older,
            page_size=EVENTS_PAGE_SIZE,
        ),
    )


@router.get("/events/{event_id}", response_class=HTMLResponse)
def event_page(
    event_id: EventId,
    request: Request,
    events: EventsDep,
    alerts: AlertsDep,
    cameras: CamerasDep,
    media: MediaDep,
    who: Viewer,
) -> Response:
    event = event_public(events.read(event_id), cameras, media)
    log = alerts.of_event(event_id)
    return templates(request).TemplateResponse(
        request,
        "event.html",
        _context(request, who, event=event, alerts=log, page="events"),
    )


@router.get("/cameras/{camera_id}/zones", response_class=HTMLResponse)
def zones_page(camera_id: str, request: Request, cameras: CamerasDep, who: Operator) -> Response:
    """The zone editor's shell; static/zones.js draws on the camera's picture and saves
    through /api/cameras/{id}/zones (admins, API cameras) or shows the YAML for the file."""
    entry = cameras.get(camera_id)
    return templates(request).TemplateResponse(
        request,
        "zones.html",
        _context(
            request,
            who,
            camera=entry.config,
            saved_here=entry.origin is CameraOrigin.API,
            page="zones",
        ),
    )


# --- admin pages: the shell of each page; static/admin.js calls /api/users, /api/tokens,
# /api/alerts with the page's CSRF token. Viewers and operators get 403.


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, who: Admin) -> Response:
    roles = [r.value for r in Role]
    return templates(request).TemplateResponse(
        request, "users.html", _context(request, who, page="users", roles=roles)
    )


@router.get("/tokens", response_class=HTMLResponse)
def tokens_page(request: Request, who: Admin) -> Response:
    roles = [r.value for r in Role]
    return templates(request).TemplateResponse(
        request, "tokens.html", _context(request, who, page="tokens", roles=roles)
    )


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, who: Admin) -> Response:
    channels = [c.name for c in request.app.state.server.config.notify.channels]
    return templates(request).TemplateResponse(
        request,
        "alerts.html",
        _context(
            request,
            who,
            page="alerts",
            statuses=[s.value for s in AlertStatus],
            channels=channels,
        ),
    )
