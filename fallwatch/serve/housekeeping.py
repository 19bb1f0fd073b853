"""Periodic chores of the main process on their own thread: finish clips whose camera
stopped sending, and enforce the media retention limits now and then."""

from __future__ import annotations

import logging
import threading
import time

from fallwatch.serve.media import MediaStore
from fallwatch.serve.recorder import EventRecorder

log = logging.getLogger(__name__)

HOUSEKEEPING_S = 1.0
RETENTION_EVERY_S = 600.0


class Housekeeper:
    def __init__(
        self,
        recorder: EventRecorder,
        media: MediaStore,
        *,
        period_s: float = HOUSEKEEPING_S,
        retention_every_s: float = RETENTION_EVERY_S,
    ) -> None:
        self.recorder = recorder
        self.media = media
        self.period_s = period_s
        self.retention_every_s = retention_every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="housekeeping", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        last_retention = 0.0
        while not self._stop.wait(self.period_s):
            try:
                self.recorder.tick()
                if time.monotonic() - last_retention > self.retention_every_s:
                    last_retention = time.monotonic()
                    self.media.enforce_retention()
            except Exception:
                log.exception("housekeeping failed")
