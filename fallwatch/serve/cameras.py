"""The camera list: config-file cameras and UI/API cameras, kept in the database, run by the supervisor.

Config-file cameras are synced into the `cameras` table at start (the file wins); their
settings can only be changed in the file, but pausing them is remembered. Cameras added
through the UI or API live only in the table. Every change is applied to the supervisor
at once and announced on the notice bus.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session, sessionmaker

from fallwatch.config.server import CameraConfig
from fallwatch.pipeline.packets import FramePacket
from fallwatch.serve.bus import CameraNotice, NoticeBus
from fallwatch.serve.credentials import CredentialBox, SealError
from fallwatch.serve.engine import WorkerEngine
from fallwatch.serve.live import LiveHub
from fallwatch.sources.capture import redact_url
from fallwatch.store import cameras as repo
from fallwatch.store.errors import Conflict, NotFound
from fallwatch.types import CameraOrigin

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CameraEntry:
    config: CameraConfig
    origin: CameraOrigin
    paused: bool


SEALED_URL_KEY = "sealed_url"
"""Key of the sealed full URL beside the camera's config JSON (see `serve.credentials`)."""

RAW_WANTED_S = 5.0
"""How long one look at the raw picture keeps the worker sending it: an open raw view
asks again with every frame it waits for or sends, so this is how long raw frames keep
coming after the last viewer left (and what a single frame.jpg costs)."""

RAW_WAIT_S = 2.0
"""How long a request for one raw picture waits for the worker's next analysed frame."""


def _stored_json(camera: CameraConfig, origin: CameraOrigin, box: CredentialBox) -> str:
    """The camera as its database row keeps it: never a password in clear."""
    if camera.url is None or urlsplit(camera.url).password is None:
        return camera.model_dump_json()
    data = camera.model_dump(mode="json")
    data["url"] = redact_url(camera.url)
    if origin is CameraOrigin.API:
        # Config-file cameras need nothing here: the file (and its ${ENV}) is the truth.
        data[SEALED_URL_KEY] = box.seal(camera.url)
    return json.dumps(data)


def _stored_config(config_json: str, box: CredentialBox) -> tuple[CameraConfig, bool]:
    """The camera from its row, its URL opened; True when the row holds a clear password."""
    data = json.loads(config_json)
    sealed = data.pop(SEALED_URL_KEY, None)
    if sealed is not None:
        try:
            data["url"] = box.open(sealed)
        except SealError as exc:
            log.error("camera %s: %s", data.get("id"), exc)
    camera = CameraConfig.model_validate(data)
    password = urlsplit(camera.url).password if camera.url is not None else None
    return camera, sealed is None and password not in (None, "***")


class CameraService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        supervisor: WorkerEngine,
        hub: LiveHub,
        bus: NoticeBus,
        clock: Callable[[], datetime],
        credentials: CredentialBox,
    ) -> None:
        self.sessions = sessions
        self.supervisor = supervisor
        self.hub = hub
        self.bus = bus
        self.clock = clock
        self.credentials = credentials
        self._lock = threading.RLock()
        self._entries: dict[str, CameraEntry] = {}

    def load(self, config_cameras: list[CameraConfig]) -> None:
        """Sync the file's cameras into the table, then hand every camera to the supervisor."""
        file_cams = {c.id: c for c in config_cameras}
        with self.sessions.begin() as session:
            repo.sync_config_cameras(
                session,
                {
                    c.id: _stored_json(c, CameraOrigin.CONFIG, self.credentials)
                    for c in config_cameras
                },
                now=self.clock(),
            )
            rows = repo.list_cameras(session)
            with self._lock:
                self._entries = {}
                for row in rows:
                    config = file_cams.get(row.id)
                    if config is None:
                        config, in_clear = _stored_config(row.config_json, self.credentials)
                        if in_clear:  # stored before passwords were sealed: seal it now
                            sealed = _stored_json(config, row.origin, self.credentials)
                            repo.update_camera(session, row.id, sealed, now=self.clock())
                    self._entries[row.id] = CameraEntry(config, row.origin, row.paused)
        with self._lock:
            for entry in self._entries.values():
                self.supervisor.set_camera(entry.config, paused=entry.paused)

    def list(self) -> list[CameraEntry]:
        with self._lock:
            return [self._entries[k] for k in sorted(self._entries)]

    def get(self, camera_id: str) -> CameraEntry:
        with self._lock:
            entry = self._entries.get(camera_id)
        if entry is None:
            raise NotFound(f"no camera with id {camera_id!r}")
        return entry

    def config_of(self, camera_id: str) -> CameraConfig | None:
        with self._lock:
            entry = self._entries.get(camera_id)
        return None if entry is None else entry.config

    def want_raw(self, camera_id: str) -> bool:
        """Someone looks at the camera's raw picture: its worker sends it with each frame
        for the next `RAW_WANTED_S`. False (and nothing asked) for a privacy camera, whose
        picture never leaves the worker, or an unknown one."""
        config = self.config_of(camera_id)
        if config is None or config.privacy:
            return False
        self.supervisor.want_raw(camera_id, time.time() + RAW_WANTED_S)
        return True

    def raw_or_latest(self, camera_id: str) -> FramePacket | None:
        """The newest packet, with a raw picture if one comes within `RAW_WAIT_S` (asked
        for here); otherwise (privacy camera, worker too slow or gone) without."""
        if self.hub.latest(camera_id) is None or not self.want_raw(camera_id):
            return self.hub.latest(camera_id)
        return self.hub.wait_latest(camera_id, lambda p: p.raw_jpeg is not None, RAW_WAIT_S)

    def add(self, camera: CameraConfig) -> CameraEntry:
        with self._lock:
            with self.sessions.begin() as session:
                repo.add_camera(
                    session,
                    camera.id,
                    _stored_json(camera, CameraOrigin.API, self.credentials),
                    origin=CameraOrigin.API,
                    now=self.clock(),
                )
            entry = CameraEntry(camera, CameraOrigin.API, False)
            self._entries[camera.id] = entry
        self.supervisor.set_camera(camera)
        self._announce(camera.id, "added")
        return entry

    def update(self, camera_id: str, changes: dict[str, Any]) -> CameraEntry:
        """Apply a partial change (validated as a whole camera); raises ValidationError."""
        with self._lock:
            entry = self.get(camera_id)
            if entry.origin is CameraOrigin.CONFIG:
                raise Conflict(
                    f"camera {camera_id!r} is defined in the config file: change it there "
                    "and restart (only pause and resume work here)"
                )
            if "id" in changes and changes["id"] != camera_id:
                raise Conflict("a camera's id cannot change: remove it and add a new one")
            merged = entry.config.model_dump(mode="json", exclude_unset=False)
            merged.update(changes)
            camera = CameraConfig.model_validate(merged)
            with self.sessions.begin() as session:
                repo.update_camera(
                    session,
                    camera_id,
                    _stored_json(camera, entry.origin, self.credentials),
                    now=self.clock(),
                )
            entry = CameraEntry(camera, entry.origin, entry.paused)
            self._entries[camera_id] = entry
        self.supervisor.set_camera(camera, paused=entry.paused)
        self._announce(camera_id, "edited")
        return entry

    def pause(self, camera_id: str, paused: bool) -> CameraEntry:
        with self._lock:
            entry = self.get(camera_id)
            with self.sessions.begin() as session:
                repo.set_camera_paused(session, camera_id, paused, now=self.clock())
            entry = CameraEntry(entry.config, entry.origin, paused)
            self._entries[camera_id] = entry
        if entry.config.enabled:
            self.supervisor.pause(camera_id, paused)
        self._announce(camera_id, "paused" if paused else "resumed")
        return entry

    def remove(self, camera_id: str) -> None:
        with self._lock:
            entry = self.get(camera_id)
            if entry.origin is CameraOrigin.CONFIG:
                raise Conflict(
                    f"camera {camera_id!r} is defined in the config file: remove it there and restart"
                )
            with self.sessions.begin() as session:
                repo.delete_camera(session, camera_id)
            del self._entries[camera_id]
        self.supervisor.remove_camera(camera_id)
        self.hub.forget(camera_id)
        self._announce(camera_id, "removed")

    def _announce(self, camera_id: str, change: str) -> None:
        self.bus.publish(CameraNotice(camera_id, change=change))
