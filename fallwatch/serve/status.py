"""What a camera is doing, in one word and one line, for the dashboard, its pages and the API.

Computed here and nowhere else, from what the camera list, the supervisor and the worker's
last figures say, so a tile, the single-camera page and `/api/cameras` always agree. A
page shows the live picture only for `live`; every other status has its own overlay, so
an operator never takes an old frame (or an old "PERSON DOWN") for the present.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fallwatch.pipeline.packets import CameraStats, WorkerState
from fallwatch.serve.cameras import CameraEntry
from fallwatch.serve.live import LiveHub
from fallwatch.serve.supervisor import WorkerReport
from fallwatch.sources.capture import ConnectionState
from fallwatch.types import CameraOrigin

SILENT_WORKER_S = 10.0
"""A running worker sends figures every second: this long without any, and the camera is
called stalled (the supervisor restarts the worker after its own, longer `stall_s`)."""

NO_FRAME_S = 10.0
"""Connected, but no frame analysed for this long: stalled too (a source that keeps its
connection open and sends nothing is caught by the capture's `read_timeout_s` as well)."""


class CameraStatus(StrEnum):
    LIVE = "live"
    """Connected and analysing: the live picture is current."""
    PAUSED = "paused"
    """Paused by an operator."""
    DISABLED = "disabled"
    """`enabled: false` in its config: never watched, and pausing means nothing."""
    NO_SIGNAL = "no_signal"
    """The source cannot be reached; the worker retries after a backoff."""
    STALLED = "stalled"
    """The source (or the worker) is open but sends no frames."""
    STARTING = "starting"
    """The worker is starting (loading the model) or connecting for the first time."""
    RESTARTING = "restarting"
    """The worker crashed or stalled; a new one starts after a backoff."""
    ENDED = "ended"
    """A file source without `loop` reached its end."""
    STOPPED = "stopped"
    """The worker was stopped (server stopping, camera being replaced)."""


@dataclass(frozen=True)
class StatusLine:
    status: CameraStatus
    reason: str
    """One line for people: why the camera is in this status ("" when live)."""


def camera_status(
    entry: CameraEntry,
    report: WorkerReport | None,
    stats: CameraStats | None,
    *,
    now_s: float,
    last_frame_at: float | None = None,
) -> StatusLine:
    """The camera's status. `now_s` and `last_frame_at` are `time.time()` values;
    `last_frame_at` is when the newest analysed frame was captured (None: none yet)."""
    if not entry.config.enabled:
        where = "the config file" if entry.origin is CameraOrigin.CONFIG else "its settings"
        return StatusLine(CameraStatus.DISABLED, f"enabled: false in {where}")
    if entry.paused:
        return StatusLine(CameraStatus.PAUSED, "paused by an operator")
    if report is None:
        return StatusLine(CameraStatus.STARTING, "waiting for its worker")
    if report.state is WorkerState.RESTARTING:
        return StatusLine(CameraStatus.RESTARTING, report.message)
    if report.state is WorkerState.STOPPED:
        return StatusLine(CameraStatus.STOPPED, report.message)
    if report.state is WorkerState.PAUSED:
        # Resumed a moment ago: the supervisor starts the worker at its next check.
        return StatusLine(CameraStatus.STARTING, "resuming")
    if report.state is WorkerState.STARTING or stats is None:
        return StatusLine(CameraStatus.STARTING, "loading the model")
    return _from_stats(stats, now_s=now_s, last_frame_at=last_frame_at)


def live_status(entry: CameraEntry, hub: LiveHub, *, now_s: float) -> StatusLine:
    """`camera_status` from what the hub holds now for the camera (the page, the camera
    API and /api/health all ask this way, so they agree)."""
    cid = entry.config.id
    latest = hub.latest(cid)
    return camera_status(
        entry,
        hub.worker(cid),
        hub.stats(cid),
        now_s=now_s,
        last_frame_at=None if latest is None else latest.captured_at,
    )


def _from_stats(stats: CameraStats, *, now_s: float, last_frame_at: float | None) -> StatusLine:
    silent_s = now_s - stats.wall_time
    if silent_s > SILENT_WORKER_S:
        return StatusLine(CameraStatus.STALLED, f"no figures from the worker for {silent_s:.0f} s")
    retry = "" if stats.retry_in_s is None else f"; retry in {stats.retry_in_s:.0f} s"
    error = stats.last_error or "no answer"
    conn = stats.connection
    if conn is ConnectionState.DISCONNECTED:
        return StatusLine(CameraStatus.NO_SIGNAL, f"{error}{retry}")
    if conn is ConnectionState.STALLED:
        return StatusLine(CameraStatus.STALLED, f"connected but no frames ({error}){retry}")
    if conn is ConnectionState.CONNECTING:
        if stats.reconnects or stats.last_error:
            return StatusLine(CameraStatus.NO_SIGNAL, f"reconnecting ({error})")
        return StatusLine(CameraStatus.STARTING, "connecting to the camera")
    if conn is ConnectionState.ENDED:
        return StatusLine(CameraStatus.ENDED, "the file has ended (loop is off)")
    if conn is ConnectionState.STOPPED:
        return StatusLine(CameraStatus.STOPPED, "the source was closed")
    if stats.analysed == 0:
        # Counted since this worker started: an older frame in the hub is from before.
        return StatusLine(CameraStatus.STARTING, "connected, waiting for the first frame")
    frame_age_s = None if last_frame_at is None else now_s - last_frame_at
    if frame_age_s is None or frame_age_s > NO_FRAME_S:
        age = "" if frame_age_s is None else f" for {frame_age_s:.0f} s"
        return StatusLine(CameraStatus.STALLED, f"connected but no frames{age}")
    return StatusLine(CameraStatus.LIVE, "")
