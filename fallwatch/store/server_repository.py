"""Queries of `fallwatch serve`: cameras, users, API tokens, and reading events for the UI.

Like `repository`, functions take an open `Session` and never commit (the caller owns
the transaction), and times are passed in. Writing events, acknowledging and resolving
them go through `repository` (via the notify `Outbox`), not here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fallwatch.store.models import Alert, AlertStatus, Event, EventState
from fallwatch.store.server_models import ApiToken, CameraOrigin, CameraRow, Role, User


class NotFound(LookupError):
    """No row with that key (the web layer turns this into a 404)."""


class Conflict(ValueError):
    """The change clashes with what is stored (the web layer turns this into a 409)."""


# --- cameras -------------------------------------------------------------------------


def list_cameras(session: Session) -> list[CameraRow]:
    return list(session.execute(select(CameraRow).order_by(CameraRow.id)).scalars())


def get_camera(session: Session, camera_id: str) -> CameraRow:
    row = session.get(CameraRow, camera_id)
    if row is None:
        raise NotFound(f"no camera with id {camera_id!r}")
    return row


def add_camera(
    session: Session,
    camera_id: str,
    config_json: str,
    *,
    origin: CameraOrigin,
    now: datetime,
    paused: bool = False,
) -> CameraRow:
    if session.get(CameraRow, camera_id) is not None:
        raise Conflict(f"a camera with id {camera_id!r} already exists")
    row = CameraRow(
        id=camera_id,
        config_json=config_json,
        origin=origin,
        paused=paused,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def update_camera(
    session: Session, camera_id: str, config_json: str, *, now: datetime
) -> CameraRow:
    row = get_camera(session, camera_id)
    row.config_json = config_json
    row.updated_at = now
    return row


def set_camera_paused(
    session: Session, camera_id: str, paused: bool, *, now: datetime
) -> CameraRow:
    row = get_camera(session, camera_id)
    row.paused = paused
    row.updated_at = now
    return row


def delete_camera(session: Session, camera_id: str) -> None:
    result = session.execute(delete(CameraRow).where(CameraRow.id == camera_id))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"no camera with id {camera_id!r}")


def sync_config_cameras(
    session: Session, cameras: dict[str, str], *, now: datetime
) -> tuple[list[str], list[str]]:
    """Make the config-file cameras in the table match `cameras` (id -> config JSON).

    Config cameras missing from the file are deleted; new ones added; changed ones
    updated; their `paused` flag is kept. A camera added through the API whose id is now
    also in the file becomes a config camera (the file wins). Returns (added, removed).
    """
    rows = {r.id: r for r in list_cameras(session)}
    added = []
    for camera_id, config_json in cameras.items():
        row = rows.get(camera_id)
        if row is None:
            add_camera(
                session, camera_id, config_json, origin=CameraOrigin.CONFIG, now=now
            )
            added.append(camera_id)
        elif row.config_json != config_json or row.origin is not CameraOrigin.CONFIG:
            row.config_json = config_json
            row.origin = CameraOrigin.CONFIG
            row.updated_at = now
    removed = [
        r.id
        for r in rows.values()
        if r.origin is CameraOrigin.CONFIG and r.id not in cameras
    ]
    if removed:
        session.execute(delete(CameraRow).where(CameraRow.id.in_(removed)))
    return added, removed


# --- users ---------------------------------------------------------------------------


def count_users(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(User)).scalar_one())


def get_user(session: Session, user_id: int) -> User:
    row = session.get(User, user_id)
    if row is None:
        raise NotFound(f"no user with id {user_id}")
    return row


def find_user(session: Session, username: str) -> User | None:
    return session.execute(
        select(User).where(User.username == username)
    ).scalar_one_or_none()


def list_users(session: Session) -> list[User]:
    return list(session.execute(select(User).order_by(User.username)).scalars())


def add_user(
    session: Session, username: str, password_hash: str, role: Role, *, now: datetime
) -> User:
    if find_user(session, username) is not None:
        raise Conflict(f"a user named {username!r} already exists")
    row = User(
        username=username,
        password_hash=password_hash,
        role=role,
        disabled=False,
        session_version=0,
        created_at=now,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # a concurrent insert of the same name
        raise Conflict(f"a user named {username!r} already exists") from None
    return row


def set_password(session: Session, user_id: int, password_hash: str) -> User:
    """New password; existing sessions of the user end (their version no longer matches)."""
    row = get_user(session, user_id)
    row.password_hash = password_hash
    row.session_version += 1
    return row


def update_user(
    session: Session,
    user_id: int,
    *,
    role: Role | None = None,
    disabled: bool | None = None,
) -> User:
    row = get_user(session, user_id)
    if role is not None:
        row.role = role
    if disabled is not None and disabled != row.disabled:
        row.disabled = disabled
        row.session_version += 1
    return row


def record_login(
    session: Session, user_id: int, *, now: datetime, rehashed: str | None = None
) -> None:
    values: dict[str, object] = {"last_login_at": now}
    if rehashed is not None:
        values["password_hash"] = rehashed
    session.execute(update(User).where(User.id == user_id).values(**values))


# --- API tokens ----------------------------------------------------------------------


def add_token(
    session: Session,
    name: str,
    token_hash: str,
    prefix: str,
    role: Role,
    *,
    created_by: int | None,
    now: datetime,
) -> ApiToken:
    row = ApiToken(
        name=name,
        token_hash=token_hash,
        prefix=prefix,
        role=role,
        created_by=created_by,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def find_token(session: Session, token_hash: str) -> ApiToken | None:
    """A live (not revoked) token by its hash."""
    return session.execute(
        select(ApiToken).where(
            ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None)
        )
    ).scalar_one_or_none()


def touch_token(session: Session, token_id: int, *, now: datetime) -> None:
    session.execute(
        update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
    )


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.execute(select(ApiToken).order_by(ApiToken.id)).scalars())


def revoke_token(session: Session, token_id: int, *, now: datetime) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"no API token with id {token_id}")
    if row.revoked_at is None:
        row.revoked_at = now
    return row


# --- reading events for the UI and API --------------------------------------------


@dataclass(frozen=True)
class EventRow:
    """An event as the dashboard lists it, with a summary of its alerts."""

    id: int
    camera_id: str
    track_id: int
    kind: str
    state: EventState
    location: str | None
    created_at: datetime
    down_from_at: datetime
    fall_seen_at: datetime | None
    alerted_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    down_score: float
    notes: str | None
    snapshot_path: str | None
    clip_path: str | None
    alerts_total: int
    alerts_delivered: int
    alerts_failed: int


def _event_rows(session: Session, events: Sequence[Event]) -> list[EventRow]:
    ids = [e.id for e in events]
    counts: dict[int, dict[AlertStatus, int]] = {}
    if ids:
        for event_id, status, n in session.execute(
            select(Alert.event_id, Alert.status, func.count())
            .where(Alert.event_id.in_(ids))
            .group_by(Alert.event_id, Alert.status)
        ):
            counts.setdefault(event_id, {})[status] = int(n)
    out = []
    for e in events:
        c = counts.get(e.id, {})
        out.append(
            EventRow(
                id=e.id,
                camera_id=e.camera_id,
                track_id=e.track_id,
                kind=e.kind,
                state=e.state,
                location=e.location,
                created_at=e.created_at,
                down_from_at=e.down_from_at,
                fall_seen_at=e.fall_seen_at,
                alerted_at=e.alerted_at,
                acknowledged_at=e.acknowledged_at,
                acknowledged_by=e.acknowledged_by,
                resolved_at=e.resolved_at,
                resolved_by=e.resolved_by,
                down_score=e.down_score,
                notes=e.notes,
                snapshot_path=e.snapshot_path,
                clip_path=e.clip_path,
                alerts_total=sum(c.values()),
                alerts_delivered=c.get(AlertStatus.DELIVERED, 0),
                alerts_failed=c.get(AlertStatus.FAILED, 0),
            )
        )
    return out


def list_events(
    session: Session,
    *,
    states: Sequence[EventState] | None = None,
    camera_id: str | None = None,
    before_id: int | None = None,
    since: datetime | None = None,
    limit: int = 50,
) -> list[EventRow]:
    """Newest first; page with `before_id` (the last id of the previous page)."""
    query = select(Event).order_by(Event.id.desc()).limit(limit)
    if states:
        query = query.where(Event.state.in_(list(states)))
    if camera_id is not None:
        query = query.where(Event.camera_id == camera_id)
    if before_id is not None:
        query = query.where(Event.id < before_id)
    if since is not None:
        query = query.where(Event.created_at >= since)
    return _event_rows(session, list(session.execute(query).scalars()))


def read_event(session: Session, event_id: int) -> EventRow:
    row = session.get(Event, event_id)
    if row is None:
        raise NotFound(f"no event with id {event_id}")
    return _event_rows(session, [row])[0]


def media_paths(session: Session) -> set[str]:
    """Every snapshot and clip path the events refer to (for retention checks)."""
    out: set[str] = set()
    for snap, clip in session.execute(select(Event.snapshot_path, Event.clip_path)):
        out.update(p for p in (snap, clip) if p)
    return out
