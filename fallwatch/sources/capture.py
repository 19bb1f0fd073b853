"""A capture thread per camera that keeps only the newest frame and reconnects for ever.

The camera sends frames at its own rate; analysis takes what it can. Rather than queue
frames (and fall further behind every second the detector is slower than the camera),
the capture thread overwrites a one-frame slot, `LatestFrame`, and counts each frame
that was overwritten before anyone took it. Live streams that fail (refused, timed out,
garbage) are reopened with exponential backoff; the thread reports its connection state
so the dashboard can say "disconnected, retrying in 8 s" instead of freezing.

Readers:
- `FileReader`: a video file through OpenCV, paced at the file's frame rate, optionally
  looping, so a file behaves like a camera (demos, tests, benchmarks).
- `MjpegReader`: `http(s)://` multipart MJPEG (IP cameras, `motion`, ESP32-CAM), read
  with our own parser so timeouts and errors are ours rather than FFmpeg's.
- `FfmpegReader`: anything else (`rtsp://`) through OpenCV's FFmpeg backend, TCP transport.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import cv2
import numpy as np
import numpy.typing as npt

from fallwatch.backoff import Backoff
from fallwatch.config.server import ReconnectConfig
from fallwatch.sources.errors import CaptureError, SourceEnded, StreamStalled
from fallwatch.sources.mjpeg import MjpegReader
from fallwatch.sources.video import VideoError, VideoReader

log = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]

MAX_FILE_FPS = 240.0
"""A file claiming a higher frame rate is paced at 25 fps instead."""


class ConnectionState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    """The last attempt failed; another follows after the backoff delay."""
    STALLED = "stalled"
    """No decodable frame for `read_timeout_s` although the stream was open (garbage,
    corrupt parts, silence): reconnecting after the backoff delay."""
    ENDED = "ended"
    """A file source without loop reached its end."""
    STOPPED = "stopped"


@dataclass(frozen=True)
class CapturedFrame:
    """One frame taken by the capture thread (crosses to the analysis thread)."""

    image: Image
    """BGR uint8 (h, w, 3)."""
    index: int
    """Frames delivered by this capture thread so far, from 0."""
    t_s: float
    """Source clock in seconds: media time for files (growing across loops), seconds
    since the capture started for streams. Monotonic, as the fall classifier needs."""
    captured_at: float
    """Wall time (time.time()) when the frame was read, for end-to-end latency."""


@dataclass(frozen=True)
class CaptureStats:
    state: ConnectionState
    frames: int
    """Frames read since start."""
    dropped: int
    """Frames overwritten in the slot before anyone took them."""
    reconnects: int
    """Frames flowing again after a failure."""
    stalls: int
    """Times no frame came within `read_timeout_s` (then a reconnect) since start."""
    failures: int
    """Failed opens or reads since start."""
    last_error: str | None
    retry_in_s: float | None
    """While disconnected: seconds until the next attempt."""
    source_fps: float
    """Frames per second read over the last few seconds."""


class LatestFrame:
    """A one-frame slot: `put` replaces, `take` waits for a frame newer than the last taken."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: CapturedFrame | None = None
        self._fresh = False
        self.dropped = 0

    def put(self, frame: CapturedFrame) -> None:
        with self._cond:
            if self._fresh:
                self.dropped += 1
            self._frame = frame
            self._fresh = True
            self._cond.notify_all()

    def take(self, timeout_s: float) -> CapturedFrame | None:
        """The newest frame not yet taken, waiting up to `timeout_s`; None on timeout."""
        with self._cond:
            if not self._fresh:
                self._cond.wait(timeout_s)
            if not self._fresh:
                return None
            self._fresh = False
            return self._frame


class FrameReader(Protocol):
    fps: float | None
    """Frame rate to pace at (files); None for live sources, which pace themselves."""

    def open(self) -> None: ...

    def read(self) -> Image:
        """The next frame; raises CaptureError (retry) or SourceEnded (file end)."""
        ...

    def close(self) -> None: ...


class FileReader:
    """A video file (through `VideoReader`), optionally looping; the capture thread
    paces it at `fps`."""

    def __init__(self, path: Path | str, loop: bool = False) -> None:
        self.path = Path(path)
        self.loop = loop
        self.fps: float | None = None
        self._video = VideoReader(self.path, loop=loop)

    @property
    def loops(self) -> int:
        """How many times the file started over (the capture thread's media clock)."""
        return self._video.loops

    def open(self) -> None:
        try:
            self._video.open()
        except VideoError as exc:
            raise CaptureError(str(exc)) from None
        fps = self._video.fps
        # A rate above 240 is a broken header, not a camera: pace such a file at 25.
        self.fps = fps if fps and 0 < fps <= MAX_FILE_FPS else 25.0

    def read(self) -> Image:
        try:
            image = self._video.read()
        except VideoError as exc:
            raise CaptureError(str(exc)) from None
        if image is None:
            raise SourceEnded(f"{self.path}: end of file")
        return image

    def close(self) -> None:
        self._video.close()


class FfmpegReader:
    """RTSP (or anything FFmpeg opens) through OpenCV, with open and read timeouts."""

    fps: float | None = None

    def __init__(self, url: str, timeout_s: float = 5.0) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._cap: cv2.VideoCapture | None = None

    def open(self) -> None:
        # TCP: UDP RTSP loses packets (and smears frames) on busy networks.
        os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
        ms = int(self.timeout_s * 1000)
        cap = cv2.VideoCapture(
            self.url,
            cv2.CAP_FFMPEG,
            [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms],
        )
        if not cap.isOpened():
            cap.release()
            raise CaptureError("FFmpeg could not open the stream")
        self._cap = cap

    def read(self) -> Image:
        assert self._cap is not None, "open() first"
        ok, image = self._cap.read()
        if not ok or image is None:
            raise CaptureError("no frame from the stream (timeout or end)")
        return image  # type: ignore[return-value]

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def make_reader(source: str, *, is_file: bool, loop: bool, timeout_s: float) -> FrameReader:
    if is_file:
        return FileReader(source, loop=loop)
    scheme = urlsplit(source).scheme
    if scheme in ("http", "https"):
        return MjpegReader(source, timeout_s)
    return FfmpegReader(source, timeout_s)


def redact_url(url: str) -> str:
    """The URL without its password, for logs and the dashboard."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


class CaptureThread:
    """Reads one camera into a `LatestFrame` slot on a daemon thread, reconnecting for ever."""

    def __init__(
        self,
        camera_id: str,
        reader: FrameReader,
        reconnect: ReconnectConfig | None = None,
        *,
        on_state: Callable[[ConnectionState, str | None], None] | None = None,
    ) -> None:
        self.camera_id = camera_id
        self.reader = reader
        self.reconnect = reconnect or ReconnectConfig()
        self.slot = LatestFrame()
        self._on_state = on_state
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"capture-{camera_id}", daemon=True)
        self._lock = threading.Lock()
        self._state = ConnectionState.CONNECTING
        self._frames = 0
        self._reconnects = 0
        self._stalls = 0
        self._failures = 0
        self._last_error: str | None = None
        self._retry_at: float | None = None
        self._recent: list[float] = []
        self._period_s = 0.0
        self._started = time.monotonic()
        self._media_base_s = 0.0  # files: media time of the first frame of the current loop
        self._last_loops = 0

    # --- control -------------------------------------------------------------------

    def start(self) -> CaptureThread:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def state(self) -> ConnectionState:
        return self._state

    def stats(self) -> CaptureStats:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._recent if now - t <= 3.0]
            fps = (
                (len(recent) - 1) / (recent[-1] - recent[0])
                if len(recent) > 2 and recent[-1] > recent[0]
                else 0.0
            )
            state, error = self._state, self._last_error
            silent_s = now - self._recent[-1] if self._recent else 0.0
            if state is ConnectionState.CONNECTED and silent_s > self._deadline_s():
                # The reader is stuck past its own deadline (a decoder hung in C): say so.
                state, error = ConnectionState.STALLED, f"no frame for {silent_s:.0f} s"
            return CaptureStats(
                state=state,
                frames=self._frames,
                dropped=self.slot.dropped,
                reconnects=self._reconnects,
                stalls=self._stalls,
                failures=self._failures,
                last_error=error,
                retry_in_s=None if self._retry_at is None else max(0.0, self._retry_at - now),
                source_fps=fps,
            )

    def _deadline_s(self) -> float:
        return max(self.reconnect.read_timeout_s, 2 * self._period_s) + 1.0

    # --- the thread ----------------------------------------------------------------

    def _set_state(self, state: ConnectionState, error: str | None = None) -> None:
        with self._lock:
            changed = state != self._state
            self._state = state
            if error is not None:
                self._last_error = error
        if changed:
            if state in (ConnectionState.DISCONNECTED, ConnectionState.STALLED):
                log.warning("camera %s: %s: %s", self.camera_id, state.value, error)
            else:
                log.info("camera %s: %s", self.camera_id, state.value)
            if self._on_state is not None:
                self._on_state(state, error)

    def _run(self) -> None:
        backoff = Backoff(self.reconnect.initial_s, self.reconnect.max_s)
        failures_in_row = 0
        while not self._stop.is_set():
            if self._state not in (ConnectionState.DISCONNECTED, ConnectionState.STALLED):
                # While retrying, the state stays "disconnected" or "stalled" (with the
                # retry time) rather than flickering through "connecting" on every attempt.
                self._set_state(ConnectionState.CONNECTING)
            frames_before = self._frames
            try:
                self.reader.open()
                self._stream()
            except SourceEnded:
                self.reader.close()
                self._set_state(ConnectionState.ENDED)
                return
            except StreamStalled as exc:
                # The stream opened but carried no frame: reconnect after the first
                # backoff step (the deadline itself already spaces these attempts).
                self.reader.close()
                with self._lock:
                    self._stalls += 1
                self._fail(str(exc), backoff.delay_s(1), ConnectionState.STALLED)
            except Exception as exc:
                if not isinstance(exc, CaptureError):  # a reader bug: retry like a failure
                    log.exception("camera %s: capture error", self.camera_id)
                self.reader.close()
                failures_in_row = 1 if self._frames > frames_before else failures_in_row + 1
                error = (
                    str(exc) if isinstance(exc, CaptureError) else f"{type(exc).__name__}: {exc}"
                )
                self._fail(error, backoff.delay_s(failures_in_row))
        self.reader.close()
        self._set_state(ConnectionState.STOPPED)

    def _stream(self) -> None:
        """Frames from an open reader into the slot until stopped (or the reader raises)."""
        fps = self.reader.fps
        period_s = self._period_s = 1.0 / fps if fps else 0.0
        next_due = time.monotonic()
        index_in_file = 0
        while not self._stop.is_set():
            image = self.reader.read()
            now = time.monotonic()
            if fps:
                loops = getattr(self.reader, "loops", 0)
                if loops != self._last_loops:
                    self._media_base_s += index_in_file * period_s
                    index_in_file, self._last_loops = 0, loops
                t_s = self._media_base_s + index_in_file * period_s
                index_in_file += 1
            else:
                t_s = now - self._started
            with self._lock:
                index = self._frames
                self._frames += 1
                self._recent.append(now)
                if len(self._recent) > 120:
                    del self._recent[:60]
            if index == 0 or self._state is not ConnectionState.CONNECTED:
                self._flowing(first_ever=index == 0)
            self.slot.put(CapturedFrame(image=image, index=index, t_s=t_s, captured_at=time.time()))
            if period_s:
                # Pace a file at its own rate; if decoding fell behind, catch up from now
                # rather than bursting.
                next_due = max(next_due + period_s, now)
                self._stop.wait(max(0.0, next_due - time.monotonic()))

    def _flowing(self, *, first_ever: bool) -> None:
        """The first frame after an open: connected (again)."""
        with self._lock:
            if not first_ever:
                self._reconnects += 1
            self._retry_at = None
        self._set_state(ConnectionState.CONNECTED)

    def _fail(
        self, error: str, delay_s: float, state: ConnectionState = ConnectionState.DISCONNECTED
    ) -> None:
        """Report a failure and wait `delay_s` (the backoff) before the next attempt."""
        with self._lock:
            self._failures += 1
            self._retry_at = time.monotonic() + delay_s
        self._set_state(state, error)
        self._stop.wait(delay_s)
