"""`MjpegReader`: multipart/x-mixed-replace JPEG over HTTP(S), with a frame deadline.

Our own parser over the socket, so every limit is ours rather than FFmpeg's:

- a frame deadline: each `read()` must return a decoded frame within `timeout_s`, whatever
  the camera sends meanwhile: silence, random bytes, parts that are not JPEGs. Each socket
  read waits at most until the deadline, so a trickle of bytes cannot stretch it. Missing
  it raises `StreamStalled` and the capture thread reconnects.
- a part size cap (`MAX_PART_BYTES`) on both kinds of part: one announcing a larger
  `Content-Length` is refused before anything of it is read; one without is refused when
  its bytes pass the cap.

A part that does not decode is skipped (one corrupt frame is no reason to reconnect);
only the deadline ends a run of them.
"""

from __future__ import annotations

import base64
import http.client
import socket
import time
from urllib.parse import unquote, urlsplit

import cv2
import numpy as np
import numpy.typing as npt

from fallwatch.sources.errors import CaptureError, StreamStalled

MAX_PART_BYTES = 50_000_000
"""The largest JPEG part accepted from a camera, bytes (a 4K frame is a few MB)."""
MAX_LINE_BYTES = 1024
"""Boundary and header lines longer than this are cut (they are not MJPEG)."""
READ_CHUNK_BYTES = 65536

Image = npt.NDArray[np.uint8]


class MjpegReader:
    """multipart/x-mixed-replace JPEG over HTTP(S): a frame within `timeout_s`, or an error."""

    fps: float | None = None

    def __init__(self, url: str, timeout_s: float = 5.0) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._conn: http.client.HTTPConnection | None = None
        self._resp: http.client.HTTPResponse | None = None
        self._sock: socket.socket | None = None
        self._buf = bytearray()
        self._received = 0
        self._skipped = 0

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
            sock = conn.sock  # the response keeps it open even if `conn` lets go of it
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
        self._conn, self._resp, self._sock = conn, resp, sock
        self._buf.clear()

    def read(self) -> Image:
        """The next decodable frame; `StreamStalled` if none within `timeout_s`."""
        assert self._resp is not None, "open() first"
        deadline = time.monotonic() + self.timeout_s
        self._received = self._skipped = 0
        try:
            while True:
                data = self._next_part(deadline)
                image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
                if image is not None:
                    return image  # type: ignore[return-value]
                self._skipped += 1
        except (OSError, http.client.HTTPException) as exc:
            raise CaptureError(f"read failed: {exc or type(exc).__name__}") from None

    # --- parsing over our own buffer ---------------------------------------------------

    def _next_part(self, deadline: float) -> bytes:
        """The body of the next part: boundary line, headers to a blank line, body."""
        while not self._next_line(deadline).startswith(b"--"):
            pass
        headers: dict[str, str] = {}
        while line := self._next_line(deadline).strip():
            key, _, value = line.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
        length = _content_length(headers.get("content-length", ""))
        if length is None:
            return self._take_to_eoi(deadline)
        if length > MAX_PART_BYTES:
            raise CaptureError(
                f"a part of {length} bytes announced, over the {MAX_PART_BYTES} byte cap: "
                "refused (not a camera frame)"
            )
        while len(self._buf) < length:
            self._fill(deadline)
        return self._take(length)

    def _next_line(self, deadline: float) -> bytes:
        while True:
            end = self._buf.find(b"\n", 0, MAX_LINE_BYTES)
            if end >= 0:
                return self._take(end + 1)
            if len(self._buf) >= MAX_LINE_BYTES:
                return self._take(MAX_LINE_BYTES)
            self._fill(deadline)

    def _take_to_eoi(self, deadline: float) -> bytes:
        # No Content-Length: the JPEG ends at its EOI marker (FF D9).
        searched = 0
        while True:
            end = self._buf.find(b"\xff\xd9", max(0, searched - 1))
            if end >= 0:
                return self._take(end + 2)
            searched = len(self._buf)
            if searched > MAX_PART_BYTES:
                raise CaptureError(
                    f"a part over the {MAX_PART_BYTES} byte cap without its end: not MJPEG"
                )
            self._fill(deadline)

    def _take(self, n: int) -> bytes:
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def _fill(self, deadline: float) -> None:
        """One socket read into the buffer, waiting no later than `deadline`."""
        assert self._resp is not None and self._sock is not None
        left_s = deadline - time.monotonic()
        if left_s <= 0:
            raise self._stalled()
        self._sock.settimeout(min(left_s, self.timeout_s))
        try:
            chunk = self._resp.read1(READ_CHUNK_BYTES)
        except TimeoutError:
            raise self._stalled() from None
        if not chunk:
            raise CaptureError("the camera closed the stream")
        self._received += len(chunk)
        self._buf += chunk

    def _stalled(self) -> StreamStalled:
        what = (
            "the camera sent nothing"
            if not self._received
            else f"{self._received} bytes arrived but no decodable JPEG"
            + (f" ({self._skipped} corrupt parts)" if self._skipped else "")
        )
        return StreamStalled(f"stalled: no frame for {self.timeout_s:g} s: {what}")

    def close(self) -> None:
        if self._resp is not None:
            self._resp.close()
        if self._conn is not None:
            self._conn.close()
        self._conn = self._resp = self._sock = None
        self._buf.clear()


def _content_length(value: str) -> int | None:
    """The announced part size; None when absent or not a number (read to the EOI)."""
    try:
        length = int(value)
    except ValueError:
        return None
    return length if length > 0 else None
