"""Composition root of `fallwatch serve`: config in, running objects out; start and stop.

No logic of its own: the supervisor's messages go through the `WorkerRouter`, operator
actions through `EventActions`, reads through `EventReader` and `AlertReader`. Bringing
the database schema up to date is an explicit step (`migrate()`) before `start()`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import time
from collections.abc import Mapping
from pathlib import Path

from fallwatch.config.server import ServerConfig
from fallwatch.notify.clock import Clock, utc_now
from fallwatch.notify.dispatcher import Dispatcher
from fallwatch.notify.outbox import Outbox
from fallwatch.notify.registry import build_notifiers
from fallwatch.pipeline.worker import run_worker
from fallwatch.serve.actions import EventActions
from fallwatch.serve.auth import AuthService
from fallwatch.serve.bus import NoticeBus
from fallwatch.serve.cameras import CameraService
from fallwatch.serve.counters import ServerCounters
from fallwatch.serve.credentials import CredentialBox
from fallwatch.serve.engine import WorkerEngine, build_engine
from fallwatch.serve.housekeeping import Housekeeper
from fallwatch.serve.listener import WorkerRouter
from fallwatch.serve.live import LiveHub
from fallwatch.serve.media import MediaStore
from fallwatch.serve.preflight import make_private_dir
from fallwatch.serve.reads import AlertReader, DatabaseProbe, EventReader
from fallwatch.serve.recorder import EventRecorder
from fallwatch.serve.security import SessionSigner, load_or_create_secret_key
from fallwatch.serve.supervisor import WorkerTarget
from fallwatch.store.db import (
    make_engine,
    migrate,
    secure_sqlite_file,
    session_factory,
    sqlite_url,
)

log = logging.getLogger(__name__)


def dispatcher_id(data_dir: Path) -> str:
    """This server's dispatcher identity, the same across restarts: host and data directory."""
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:8]
    return f"{socket.gethostname()}-{digest}"


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
        self.env = os.environ if env is None else env
        # 0700: the database holds camera addresses, the media pictures of people.
        self.data_dir = make_private_dir(config.data_dir)
        self.engine = make_engine(config.database_url or sqlite_url(self.data_dir))
        secure_sqlite_file(self.engine)
        self.sessions = session_factory(self.engine)
        self.database = DatabaseProbe(self.engine)
        self.bus = NoticeBus()
        rec = config.recording
        self.hub = LiveHub(ring_s=rec.pre_s + rec.post_s + 2.0)
        self.media = MediaStore(self.data_dir / "media", rec)
        notifiers = build_notifiers(config.notify)
        self.counters = ServerCounters()
        self.dispatcher: Dispatcher | None = (
            Dispatcher(
                self.sessions,
                notifiers,
                config.notify,
                clock=clock,
                worker_id=dispatcher_id(self.data_dir),
                only_dispatcher=self.engine.url.get_backend_name() == "sqlite",
                on_failed=lambda claim, _why: self.counters.count_alert_failed(claim.channel),
            )
            if notifiers
            else None
        )
        self.outbox = Outbox(
            self.sessions,
            config.notify,
            clock=clock,
            on_queued=self.dispatcher.wake if self.dispatcher else None,
        )
        self.recorder = EventRecorder(
            self.media,
            self.outbox,
            self.hub,
            self.bus,
            rec,
            # Late-bound: the camera service needs the supervisor, which needs this.
            lambda camera_id: self.cameras.config_of(camera_id),
        )
        self.router = WorkerRouter(self.hub, self.recorder, self.bus, self.counters)
        self.supervisor: WorkerEngine = build_engine(  # local processes or Ray (cluster)
            config,
            self.router,
            target=worker_target,
            log_level=logging.getLogger().level or logging.INFO,
        )
        key = (
            config.web.secret_key.get_secret_value().encode()
            if config.web.secret_key is not None
            else load_or_create_secret_key(self.data_dir / "secret_key")
        )
        self.cameras = CameraService(
            self.sessions, self.supervisor, self.hub, self.bus, clock, CredentialBox(key)
        )
        self.events = EventReader(self.sessions)
        self.alerts = AlertReader(self.sessions)
        self.actions = EventActions(self.outbox, self.events, self.bus)
        self.signer = SessionSigner(key, config.web.session_max_age_s)
        self.auth = AuthService(
            self.sessions,
            clock,
            signer=self.signer,
            login=config.web.login,
            counters=self.counters,
        )
        self.housekeeper = Housekeeper(self.recorder, self.media)
        self.started_at: float | None = None
        self.workers_running = False
        self._migrated = False

    # --- life cycle ------------------------------------------------------------------

    def migrate(self) -> None:
        """Bring the database schema up to date (Alembic); needed once before `start()`."""
        migrate(self.engine)
        self._migrated = True

    def start(self, *, run_workers: bool = True) -> None:
        """Load cameras, create the first admin if asked, start workers and the dispatcher.

        `run_workers=False` serves the UI and API over the database without analysing
        any camera (API tests, a read-only replica).
        """
        if not self._migrated:
            raise RuntimeError("call migrate() before start(): the schema may be old")
        self.auth.ensure_admin(self.env)
        self.cameras.load(self.config.cameras)
        if run_workers:
            self.supervisor.start()
            self.workers_running = True
        if self.dispatcher is not None:
            self.dispatcher.start()
        self.housekeeper.start()
        self.started_at = time.time()
        log.info(
            "serving %d camera(s); data in %s; database %s",
            len(self.cameras.list()),
            self.data_dir,
            self.engine.url.render_as_string(hide_password=True),
        )

    def stop(self) -> None:
        self.housekeeper.stop()
        if self.workers_running:
            self.supervisor.stop()
            self.workers_running = False
        self.recorder.flush()
        if self.dispatcher is not None:
            self.dispatcher.stop()
        self.engine.dispose()
