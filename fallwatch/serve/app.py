"""Composition root of `fallwatch serve`: config in, running objects out; start and stop.

No logic of its own beyond wiring: the supervisor's messages go to the live hub, the
event recorder and the notice bus; operator actions go to the notify outbox.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from fallwatch.config.server import ServerConfig
from fallwatch.events.bus import NoticeBus, NoticeKind
from fallwatch.events.media import MediaStore
from fallwatch.events.recorder import EventRecorder
from fallwatch.notify.clock import Clock, utc_now
from fallwatch.notify.dispatcher import Dispatcher
from fallwatch.notify.outbox import Outbox
from fallwatch.notify.registry import build_notifiers
from fallwatch.pipeline.cameras import CameraService
from fallwatch.pipeline.live import LiveHub
from fallwatch.pipeline.packets import CameraEvent, CameraStats, FramePacket
from fallwatch.pipeline.supervisor import Supervisor, WorkerReport, WorkerTarget
from fallwatch.pipeline.worker import run_worker
from fallwatch.store import (
    repository,
    server_models,  # noqa: F401  (registers the server tables on Base)
    server_repository,
)
from fallwatch.store.db import make_engine, migrate, session_factory, sqlite_url
from fallwatch.store.models import AlertStatus, EventState
from fallwatch.web.auth import AuthService
from fallwatch.web.security import SessionSigner, load_or_create_secret_key

log = logging.getLogger(__name__)

HOUSEKEEPING_S = 1.0
RETENTION_EVERY_S = 600.0


class FallwatchServer:
    """Everything `fallwatch serve` runs, built from one `ServerConfig`."""

    def __init__(
        self,
        config: ServerConfig,
        *,
        worker_target: WorkerTarget = run_worker,
        clock: Clock = utc_now,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.env = os.environ if env is None else env
        self.data_dir = config.data_dir.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.database_url = config.database_url or sqlite_url(self.data_dir)
        self.engine = make_engine(self.database_url)
        migrate(self.engine)
        self.sessions = session_factory(self.engine)
        self.bus = NoticeBus()
        rec = config.recording
        self.hub = LiveHub(ring_s=rec.pre_s + rec.post_s + 2.0)
        self.media = MediaStore(self.data_dir / "media", rec)
        notifiers = build_notifiers(config.notify)
        self.dispatcher: Dispatcher | None = (
            Dispatcher(self.sessions, notifiers, config.notify, clock=clock)
            if notifiers
            else None
        )
        self.outbox = Outbox(
            self.sessions,
            config.notify,
            clock=clock,
            on_queued=self.dispatcher.wake if self.dispatcher else None,
        )
        self.supervisor = Supervisor(
            config.workers,
            self,
            target=worker_target,
            log_level=logging.getLogger().level or logging.INFO,
        )
        self.cameras = CameraService(
            self.sessions, self.supervisor, self.hub, self.bus, clock
        )
        self.recorder = EventRecorder(
            self.media, self.outbox, self.hub, self.bus, rec, self.cameras.config_of
        )
        self.auth = AuthService(self.sessions, clock)
        key = (
            config.web.secret_key.get_secret_value().encode()
            if config.web.secret_key is not None
            else load_or_create_secret_key(self.data_dir / "secret_key")
        )
        self.signer = SessionSigner(key, config.web.session_max_age_s)
        self.event_counts: Counter[tuple[str, str]] = Counter()
        self.restart_counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()
        self._stop = threading.Event()
        self._housekeeping: threading.Thread | None = None
        self.started_at: float | None = None
        self.workers_running = False

    # --- life cycle ------------------------------------------------------------------

    def start(self, *, run_workers: bool = True) -> None:
        """Load cameras, create the first admin if asked, start workers and the dispatcher.

        `run_workers=False` serves the UI and API over the database without analysing
        any camera (API tests, a read-only replica).
        """
        self.auth.ensure_admin(self.env)
        self.cameras.load(self.config.cameras)
        if run_workers:
            self.supervisor.start()
            self.workers_running = True
        if self.dispatcher is not None:
            self.dispatcher.start()
        self._housekeeping = threading.Thread(
            target=self._housekeep, name="housekeeping", daemon=True
        )
        self._housekeeping.start()
        self.started_at = time.time()
        log.info(
            "serving %d camera(s); data in %s; database %s",
            len(self.cameras.list()),
            self.data_dir,
            self.engine.url.render_as_string(hide_password=True),
        )

    def stop(self) -> None:
        self._stop.set()
        if self.workers_running:
            self.supervisor.stop()
            self.workers_running = False
        self.recorder.flush()
        if self.dispatcher is not None:
            self.dispatcher.stop()
        if self._housekeeping is not None:
            self._housekeeping.join(5)
        self.engine.dispose()

    def _housekeep(self) -> None:
        last_retention = 0.0
        while not self._stop.wait(HOUSEKEEPING_S):
            try:
                self.recorder.tick()
                if time.monotonic() - last_retention > RETENTION_EVERY_S:
                    last_retention = time.monotonic()
                    self.media.enforce_retention()
            except Exception:
                log.exception("housekeeping failed")

    # --- the supervisor's listener ---------------------------------------------------

    def on_packet(self, packet: FramePacket) -> None:
        self.hub.put_packet(packet)
        self.recorder.on_packet(packet)

    def on_stats(self, stats: CameraStats) -> None:
        self.hub.put_stats(stats)

    def on_event(self, camera_event: CameraEvent) -> None:
        with self._counts_lock:
            self.event_counts[
                (camera_event.event.camera_id, camera_event.event.kind.value)
            ] += 1
        self.recorder.on_event(camera_event)

    def on_worker(self, report: WorkerReport) -> None:
        previous = self.hub.worker(report.camera_id)
        if previous is not None and report.restarts > previous.restarts:
            with self._counts_lock:
                self.restart_counts[report.camera_id] += (
                    report.restarts - previous.restarts
                )
        self.hub.put_worker(report)
        self.bus.publish(
            NoticeKind.CAMERA_CHANGED,
            {
                "camera_id": report.camera_id,
                "worker": report.state.value,
                "message": report.message,
            },
        )

    # --- operator actions ------------------------------------------------------------

    def acknowledge(
        self, event_id: int, *, by: str, note: str | None = None
    ) -> server_repository.EventRow:
        self.outbox.acknowledge(event_id, by=by, note=note)
        return self._changed(event_id)

    def resolve(
        self, event_id: int, *, by: str, note: str | None = None
    ) -> server_repository.EventRow:
        self.outbox.resolve(event_id, by=by, note=note)
        return self._changed(event_id)

    def _changed(self, event_id: int) -> server_repository.EventRow:
        row = self.read_event(event_id)
        self.bus.publish(
            NoticeKind.EVENT_CHANGED,
            {"id": event_id, "camera_id": row.camera_id, "state": row.state.value},
        )
        return row

    # --- reading ---------------------------------------------------------------------

    def list_events(self, **filters: object) -> list[server_repository.EventRow]:
        with self.sessions.begin() as session:
            return server_repository.list_events(session, **filters)  # type: ignore[arg-type]

    def read_event(self, event_id: int) -> server_repository.EventRow:
        with self.sessions.begin() as session:
            return server_repository.read_event(session, event_id)

    def open_events(self) -> list[server_repository.EventRow]:
        """Events nobody has taken on yet (the dashboard's alarm list)."""
        return self.list_events(
            states=[EventState.OPEN, EventState.SUPPRESSED], limit=100
        )

    def alert_counts(self) -> dict[str, int]:
        with self.sessions.begin() as session:
            return {
                k.value: v for k, v in repository.alert_status_counts(session).items()
            }

    def alert_log(self, event_id: int) -> list[repository.AlertView]:
        with self.sessions.begin() as session:
            return repository.list_event_alerts(session, event_id)

    def list_alerts(
        self,
        *,
        statuses: list[AlertStatus] | None = None,
        channel: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[repository.AlertView]:
        """All events' alerts, newest first, as `repository.list_alerts`."""
        with self.sessions.begin() as session:
            return repository.list_alerts(
                session, statuses=statuses, channel=channel, since=since, limit=limit, offset=offset
            )

    def media_file(self, path: str | None) -> Path | None:
        return None if path is None else self.media.contains(path)

    def database_ok(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return True
        except SQLAlchemyError:
            return False

    def now(self) -> datetime:
        return self.clock()
