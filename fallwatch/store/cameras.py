"""Cameras kept in the database: the config file's (synced at start) and those added in the UI/API.

Functions take an open `Session` and never commit (the caller owns the transaction), and
times are passed in. Reads hand back `StoredCamera` views, never ORM rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fallwatch.store.errors import Conflict, NotFound
from fallwatch.store.models import CameraRow
from fallwatch.types import CameraOrigin


@dataclass(frozen=True)
class StoredCamera:
    """One row of `cameras`: the camera's config as JSON and whether it is paused."""

    id: str
    config_json: str
    origin: CameraOrigin
    paused: bool
    created_at: datetime
    updated_at: datetime


def _view(row: CameraRow) -> StoredCamera:
    return StoredCamera(
        id=row.id,
        config_json=row.config_json,
        origin=row.origin,
        paused=row.paused,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _rows(session: Session) -> list[CameraRow]:
    return list(session.execute(select(CameraRow).order_by(CameraRow.id)).scalars())


def _row(session: Session, camera_id: str) -> CameraRow:
    row = session.get(CameraRow, camera_id)
    if row is None:
        raise NotFound(f"no camera with id {camera_id!r}")
    return row


def list_cameras(session: Session) -> list[StoredCamera]:
    return [_view(r) for r in _rows(session)]


def get_camera(session: Session, camera_id: str) -> StoredCamera:
    return _view(_row(session, camera_id))


def add_camera(
    session: Session,
    camera_id: str,
    config_json: str,
    *,
    origin: CameraOrigin,
    now: datetime,
    paused: bool = False,
) -> StoredCamera:
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
    return _view(row)


def update_camera(
    session: Session, camera_id: str, config_json: str, *, now: datetime
) -> StoredCamera:
    row = _row(session, camera_id)
    row.config_json = config_json
    row.updated_at = now
    return _view(row)


def set_camera_paused(
    session: Session, camera_id: str, paused: bool, *, now: datetime
) -> StoredCamera:
    row = _row(session, camera_id)
    row.paused = paused
    row.updated_at = now
    return _view(row)


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
    rows = {r.id: r for r in _rows(session)}
    added = []
    for camera_id, config_json in cameras.items():
        row = rows.get(camera_id)
        if row is None:
            add_camera(session, camera_id, config_json, origin=CameraOrigin.CONFIG, now=now)
            added.append(camera_id)
        elif row.config_json != config_json or row.origin is not CameraOrigin.CONFIG:
            row.config_json = config_json
            row.origin = CameraOrigin.CONFIG
            row.updated_at = now
    removed = [
        r.id for r in rows.values() if r.origin is CameraOrigin.CONFIG and r.id not in cameras
    ]
    if removed:
        session.execute(delete(CameraRow).where(CameraRow.id.in_(removed)))
    return added, removed
