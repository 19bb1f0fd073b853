"""A real MJPEG HTTP server on 127.0.0.1 that tests start, stop and restart; small videos."""

from __future__ import annotations

import base64
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np


def numbered_jpeg(n: int, wh: tuple[int, int] = (160, 120)) -> bytes:
    """A small JPEG whose mean grey level encodes `n` (so tests can tell frames apart)."""
    image = np.full((wh[1], wh[0], 3), (n * 10) % 250, np.uint8)
    cv2.putText(image, str(n), (10, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2)
    ok, buf = cv2.imencode(".jpg", image)
    assert ok
    return buf.tobytes()


class MjpegServer:
    """multipart/x-mixed-replace JPEG at `fps` on a fixed port; `stop()` drops every client.

    Faults on command, on the open connections: `garbage.set()` switches to random bytes
    (`clear()` back to frames); `announce_bytes = N` sends a part header claiming N bytes,
    then random bytes at `garbage_bytes_per_s`.
    """

    def __init__(
        self,
        port: int = 0,
        fps: float = 20.0,
        *,
        content_length: bool = True,
        auth: str | None = None,
    ):
        self.fps = fps
        self.content_length = content_length
        self.auth = auth
        self.requests = 0
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._stopping = threading.Event()
        self.garbage = threading.Event()
        self.announce_bytes: int | None = None
        self.garbage_bytes_per_s = 2_000_000

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/video.mjpg"

    def start(self) -> MjpegServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                outer.requests += 1
                if outer.auth is not None:
                    expected = "Basic " + base64.b64encode(outer.auth.encode()).decode()
                    if self.headers.get("Authorization") != expected:
                        self.send_response(401)
                        self.end_headers()
                        return
                if self.path == "/still.jpg":
                    body = numbered_jpeg(0)
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if self.path != "/video.mjpg":
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                n = 0
                try:
                    while not outer._stopping.is_set():
                        if outer.announce_bytes is not None:
                            head = f"--frame\r\nContent-Length: {outer.announce_bytes}\r\n\r\n"
                            self.wfile.write(head.encode())
                            while not outer._stopping.is_set():
                                outer._send_garbage(self.wfile)
                            return
                        if outer.garbage.is_set():
                            outer._send_garbage(self.wfile)
                            continue
                        body = numbered_jpeg(n)
                        head = b"--frame\r\nContent-Type: image/jpeg\r\n"
                        if outer.content_length:
                            head += f"Content-Length: {len(body)}\r\n".encode()
                        self.wfile.write(head + b"\r\n" + body + b"\r\n")
                        self.wfile.flush()
                        n += 1
                        time.sleep(1 / outer.fps)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._stopping.clear()
        server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        server.daemon_threads = True
        server.allow_reuse_address = True
        self._port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def _send_garbage(self, wfile: BinaryIO) -> None:
        """0.05 s worth of random bytes."""
        wfile.write(os.urandom(int(self.garbage_bytes_per_s * 0.05)))
        wfile.flush()
        time.sleep(0.05)

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_video(
    path: Path, frames: int = 20, fps: float = 20.0, wh: tuple[int, int] = (160, 120)
) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, wh)
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((wh[1], wh[0], 3), (i * 10) % 250, np.uint8))
    writer.release()
    return path


def wait_for(predicate: object, timeout_s: float, step_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(step_s)
    return bool(predicate())  # type: ignore[operator]
