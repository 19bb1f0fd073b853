"""Counts since start that /metrics exposes: events per camera and kind, worker restarts,
alerts that failed for good per channel, failed logins by reason.

Written by the supervisor's threads, read at scrape time; `snapshot()` copies both under
one lock so a scrape never sees a half-updated pair.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class CountsSnapshot:
    events: dict[tuple[str, str], int]
    """(camera id, event kind) -> events raised since start."""
    restarts: dict[str, int]
    """Camera id -> worker restarts after a crash or stall since start."""
    alerts_failed: dict[str, int]
    """Channel -> alerts marked failed (refused, out of attempts or age) since start."""
    login_failures: dict[str, int]
    """Reason ('wrong_password', 'throttled', ...) -> failed logins since start."""


class ServerCounters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: Counter[tuple[str, str]] = Counter()
        self._restarts: Counter[str] = Counter()
        self._alerts_failed: Counter[str] = Counter()
        self._login_failures: Counter[str] = Counter()

    def count_event(self, camera_id: str, kind: str) -> None:
        with self._lock:
            self._events[(camera_id, kind)] += 1

    def count_restarts(self, camera_id: str, restarts: int) -> None:
        with self._lock:
            self._restarts[camera_id] += restarts

    def count_alert_failed(self, channel: str) -> None:
        with self._lock:
            self._alerts_failed[channel] += 1

    def count_login_failure(self, reason: str) -> None:
        with self._lock:
            self._login_failures[reason] += 1

    def snapshot(self) -> CountsSnapshot:
        with self._lock:
            return CountsSnapshot(
                dict(self._events),
                dict(self._restarts),
                dict(self._alerts_failed),
                dict(self._login_failures),
            )
