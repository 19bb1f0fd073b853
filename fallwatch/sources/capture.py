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

import base64
import http.client
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import cv2
import numpy as np
import numpy.typing as npt

from fallwatch.backoff import Backoff
from fallwatch.config.server import ReconnectConfig
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
    ENDED = "ended"
    """A file source without loop reached its end."""
    STOPPED = "stopped"


class CaptureError(Exception):
    """A source that failed to open or to deliver a frame (the message says why)."""


class SourceEnded(Exception):
    """A file source reached its end."""


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
    """Successful re-opens after a failure."""
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


class MjpegReader:
    """multipart/x-mixed-replace JPEG over HTTP(S), with a socket timeout on every read."""

    fps: float | None = None

    def __init__(self, url: str, timeout_s: float = 5.0) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._conn: http.client.HTTPConnection | None = None
        self._resp: http.client.HTTPResponse | None = None

    def open(self) -> None:
        parts = urlsplit(self.url)
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = cls(parts.hostname or "", parts.port, timeout=self.timeout_s)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        headers = {"Accept": "multipart/x-mixed-replace, image/jpeg"}
        if parts.username is not None:
            creds = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            headers["Authorization"] = "Basic " + base64.b64encode(creds.encode()).decode()
        try:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise CaptureError(f"cannot connect: {exc or type(exc).__name__}") from None
        ctype = resp.getheader("Content-Type", "")
        if resp.status != 200:
            conn.close()
            raise CaptureError(f"HTTP {resp.status} {resp.reason}")
        if "multipart" not in ctype:
            conn.close()
            raise CaptureError(f"not an MJPEG stream (Content-Type {ctype or 'missing'})")
        self._conn, self._resp = conn, resp

    def read(self) -> Image:
        resp = self._resp
        assert resp is not None, "open() first"
        try:
            headers: dict[str, str] = {}
            # Skip to the next part: boundary line, then headers up to a blank line.
            while True:
                line = resp.readline(1024)
                if not line:
                    raise CaptureError("the camera closed the stream")
                if line.startswith(b"--"):
                    break
            while True:
                line = resp.readline(1024)
                if not line:
                    raise CaptureError("the camera closed the stream")
                if not line.strip():
                    break
                key, _, value = line.decode("latin-1").partition(":")
                headers[key.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0") or 0)
            if length > 0:
                data = resp.read(length)
                if len(data) < length:
                    raise CaptureError("the stream ended inside a frame")
            else:
                data = self._read_to_eoi(resp)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise CaptureError(f"read failed: {exc or type(exc).__name__}") from None
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise CaptureError("a part of the stream is not a decodable JPEG")
        return image  # type: ignore[return-value]

    @staticmethod
    def _read_to_eoi(resp: http.client.HTTPResponse) -> bytes:
        # No Content-Length: the JPEG ends at its EOI marker (FF D9).
        buf = bytearray()
        while not buf.endswith(b"\xff\xd9"):
            chunk = resp.read(1)
            if not chunk:
                raise CaptureError("the stream ended inside a frame")
            buf += chunk
            if len(buf) > 50_000_000:
                raise CaptureError("a frame larger than 50 MB: not an MJPEG stream")
        return bytes(buf)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = self._resp = None


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
        self._failures = 0
        self._last_error: str | None = None
        self._retry_at: float | None = None
        self._recent: list[float] = []

    # --- control -------------------------------------------------------------------

    def start(self) -> CaptureThread:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def stats(self) -> CaptureStats:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._recent if now - t <= 3.0]
            fps = (
                (len(recent) - 1) / (recent[-1] - recent[0])
                if len(recent) > 2 and recent[-1] > recent[0]
                else 0.0
            )
            return CaptureStats(
                state=self._state,
                frames=self._frames,
                dropped=self.slot.dropped,
                reconnects=self._reconnects,
                failures=self._failures,
                last_error=self._last_error,
                retry_in_s=None if self._retry_at is None else max(0.0, self._retry_at - now),
                source_fps=fps,
            )

    # --- the thread ----------------------------------------------------------------

    def _set_state(self, state: ConnectionState, error: str | None = None) -> None:
        with self._lock:
            changed = state != self._state
            self._state = state
            if error is not None:
                self._last_error = error
        if changed:
            if state is ConnectionState.DISCONNECTED:
                log.warning("camera %s: disconnected: %s", self.camera_id, error)
            else:
                log.info("camera %s: %s", self.camera_id, state.value)
            if self._on_state is not None:
                self._on_state(state, error)

    def _run(self) -> None:
        backoff = Backoff(self.reconnect.initial_s, self.reconnect.max_s)
        failures_in_row = 0
        ever_connected = False
        start = time.monotonic()
        media_base_s = 0.0  # files: media time of the first frame of the current loop
        last_loops = 0
        while not self._stop.is_set():
            if self._state is not ConnectionState.DISCONNECTED:
                # While retrying, the state stays "disconnected" (with the retry time)
                # rather than flickering through "connecting" on every attempt.
                self._set_state(ConnectionState.CONNECTING)
            try:
                self.reader.open()
            except CaptureError as exc:
                failures_in_row += 1
                self._fail(str(exc), backoff.delay_s(failures_in_row))
                continue
            if ever_connected:
                with self._lock:
                    self._reconnects += 1
            ever_connected = True
            self._set_state(ConnectionState.CONNECTED)
            with self._lock:
                self._retry_at = None
            fps = self.reader.fps
            period_s = 1.0 / fps if fps else 0.0
            next_due = time.monotonic()
            index_in_file = 0
            try:
                while not self._stop.is_set():
                    image = self.reader.read()
                    now = time.monotonic()
                    if fps:
                        loops = getattr(self.reader, "loops", 0)
                        if loops != last_loops:
                            media_base_s += index_in_file * period_s
                            index_in_file, last_loops = 0, loops
                        t_s = media_base_s + index_in_file * period_s
                        index_in_file += 1
                    else:
                        t_s = now - start
                    with self._lock:
                        index = self._frames
                        self._frames += 1
                        self._recent.append(now)
                        if len(self._recent) > 120:
                            del self._recent[:60]
                    self.slot.put(
                        CapturedFrame(image=image, index=index, t_s=t_s, captured_at=time.time())
                    )
                    failures_in_row = 0  # a frame arrived: healthy again
                    if period_s:
                        # Pace a file at its own rate; if decoding fell behind, catch up
                        # from now rather than bursting.
                        next_due = max(next_due + period_s, now)
                        self._stop.wait(max(0.0, next_due - time.monotonic()))
            except SourceEnded:
                self.reader.close()
                self._set_state(ConnectionState.ENDED)
                return
            except CaptureError as exc:
                self.reader.close()
                failures_in_row += 1
                self._fail(str(exc), backoff.delay_s(failures_in_row))
                continue
            except Exception as exc:  # a reader bug: report it and retry like a failure
                log.exception("camera %s: capture error", self.camera_id)
                self.reader.close()
                failures_in_row += 1
                self._fail(f"{type(exc).__name__}: {exc}", backoff.delay_s(failures_in_row))
                continue
        self.reader.close()
        self._set_state(ConnectionState.STOPPED)

    def _fail(self, error: str, delay_s: float) -> None:
        """Report a failure and wait `delay_s` (the backoff) before the next attempt."""
        with self._lock:
            self._failures += 1
            self._retry_at = time.monotonic() + delay_s
        self._set_state(ConnectionState.DISCONNECTED, error)
        self._stop.wait(delay_s)
