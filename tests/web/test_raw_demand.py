"""The raw picture only while someone looks: a real server, a real worker, real HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fallwatch.config.server import CameraConfig
from fallwatch.pipeline.packets import FramePacket
from fallwatch.serve.app import FallwatchServer
from fallwatch.serve.cameras import RAW_WANTED_S
from tests.fakes.capture import write_video
from tests.fakes.web import LiveServer, make_server
from tests.fakes.worker import wait_for
from tests.web.test_live import read_parts, session


class Recorded:
    """Every packet the live hub gets from the worker, as it gets it."""

    def __init__(self, server: FallwatchServer) -> None:
        self.lock = threading.Lock()
        self.packets: list[FramePacket] = []
        put = server.hub.put_packet

        def record(packet: FramePacket) -> None:
            with self.lock:
                self.packets.append(packet)
            put(packet)

        server.hub.put_packet = record  # type: ignore[method-assign]

    def raw_since(self, t: float) -> list[bool]:
        """Whether each packet captured after wall time `t` carried the raw picture."""
        with self.lock:
            return [p.raw_jpeg is not None for p in self.packets if p.captured_at > t]


@pytest.fixture
def worker_server(tmp_path: Path) -> Iterator[tuple[FallwatchServer, Recorded]]:
    video = write_video(tmp_path / "room.avi", frames=40, fps=10.0, wh=(320, 240))
    srv = make_server(tmp_path)
    recorded = Recorded(srv)
    srv.start()
    try:
        srv.cameras.add(CameraConfig(id="room", path=video, loop=True, analysis_fps=5))
        assert wait_for(lambda: len(recorded.raw_since(0)) >= 3, 90.0), "the worker started"
        yield srv, recorded
    finally:
        srv.stop()


def test_raw_frames_flow_while_a_raw_view_is_open_and_stop_after_it_closes(
    worker_server: tuple[FallwatchServer, Recorded],
) -> None:
    srv, recorded = worker_server
    time.sleep(1.0)
    assert not any(recorded.raw_since(0)), "nobody looks: no raw picture is sent"
    with LiveServer(srv) as web, session(web.url) as c:
        with c.stream("GET", "/api/cameras/room/live.mjpg?view=raw") as r:
            opened = time.time()
            assert r.status_code == 200
            parts = read_parts(r, 3, timeout_s=10)
            first_s = time.time() - opened
            assert len(parts) == 3 and all(p[:2] == b"\xff\xd8" for p in parts)
        closed = time.time()
        assert first_s < 5.0, f"raw frames took {first_s:.1f} s to come"
        with recorded.lock:
            raws = {p.raw_jpeg for p in recorded.packets if p.raw_jpeg is not None}
        assert set(parts) <= raws, "the raw view shows raw pictures, never annotated ones"
        assert all(recorded.raw_since(opened + 0.5)[:3]), "raw frames flow while it is open"

        expired = closed + RAW_WANTED_S + 0.5
        assert wait_for(lambda: len(recorded.raw_since(expired)) >= 3, RAW_WANTED_S + 15)
        assert not any(recorded.raw_since(expired)), "they stop once the viewer has gone"

        # One picture for the zone editor: asked for, it comes with the next frame.
        r = c.get("/api/cameras/room/frame.jpg")
        assert r.status_code == 200 and r.headers["x-view"] == "raw", r.headers
        assert (r.headers["x-frame-width"], r.headers["x-frame-height"]) == ("320", "240")
        r = c.get("/api/cameras/room/latest.jpg?view=raw")
        with recorded.lock:
            raws = {p.raw_jpeg for p in recorded.packets if p.raw_jpeg is not None}
        assert r.status_code == 200 and r.content in raws


def test_frame_jpg_falls_back_to_the_annotated_picture_when_no_raw_one_comes(
    tmp_path: Path,
) -> None:
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from fallwatch.web.app import create_app
    from tests.fakes.web import login, packet

    srv = make_server(tmp_path, cameras=[{"id": "lobby", "url": "rtsp://10.0.0.9/s1"}])
    srv.start(run_workers=False)  # no worker: nobody answers the wish
    try:
        srv.hub.put_packet(replace(packet("lobby", 1, raw=False), frame_wh=(640, 480)))
        with TestClient(create_app(srv), base_url="http://127.0.0.1") as c:
            login(c)
            asked = time.monotonic()
            r = c.get("/api/cameras/lobby/frame.jpg")
            waited_s = time.monotonic() - asked
            assert r.status_code == 200 and r.headers["x-view"] == "annotated"
            assert r.headers["x-frame-width"] == "640"
            assert waited_s >= 1.5, "it waited for a raw picture first"
            r = c.get("/api/cameras/lobby/latest.jpg?view=raw")
            assert r.status_code == 404 and "no frame" in r.json()["detail"]
    finally:
        srv.stop()
