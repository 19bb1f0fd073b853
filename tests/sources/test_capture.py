"""Capture threads against real files and a real local MJPEG server."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from fallwatch.config.server import ReconnectConfig
from fallwatch.sources.capture import (
    CapturedFrame,
    CaptureThread,
    ConnectionState,
    FileReader,
    LatestFrame,
    MjpegReader,
    make_reader,
    redact_url,
)
from tests.fakes.capture import MjpegServer, free_port, wait_for, write_video

FAST = ReconnectConfig(initial_s=0.1, max_s=0.4, read_timeout_s=1.0)


def frame(i: int) -> CapturedFrame:
    return CapturedFrame(
        image=np.zeros((2, 2, 3), np.uint8),
        index=i,
        t_s=i / 10,
        captured_at=time.time(),
    )


def test_latest_frame_keeps_the_newest_and_counts_what_it_dropped() -> None:
    slot = LatestFrame()
    assert slot.take(0.01) is None
    for i in range(3):
        slot.put(frame(i))
    taken = slot.take(0.01)
    assert taken is not None and taken.index == 2
    assert slot.dropped == 2
    assert slot.take(0.01) is None, "a frame is handed out once"
    slot.put(frame(3))
    assert slot.dropped == 2, "a frame taken before the next put is not dropped"


def test_looping_file_is_paced_at_its_fps_with_a_growing_clock(tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.avi", frames=10, fps=20.0)
    cap = CaptureThread("file", FileReader(video, loop=True), FAST).start()
    try:
        seen: list[CapturedFrame] = []
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            got = cap.slot.take(0.2)
            if got is not None:
                seen.append(got)
        stats = cap.stats()
    finally:
        cap.stop()
    # 1.5 s at 20 fps is 30 frames: the 10-frame file looped, and was not read flat out.
    assert 15 <= stats.frames <= 36, stats
    assert stats.state is ConnectionState.CONNECTED
    times = [f.t_s for f in seen]
    assert times == sorted(times) and len(set(times)) == len(times), "t_s must grow across loops"
    assert max(times) > 10 / 20.0, "the clock goes on past the file's length"


def test_file_without_loop_ends(tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.avi", frames=4, fps=40.0)
    cap = CaptureThread("file", FileReader(video), FAST).start()
    assert wait_for(lambda: cap.stats().state is ConnectionState.ENDED, 3.0)
    assert cap.stats().frames == 4
    cap.stop()
    assert not cap.is_alive()


def test_missing_file_reports_disconnected_and_keeps_retrying(tmp_path: Path) -> None:
    cap = CaptureThread("gone", FileReader(tmp_path / "nope.mp4"), FAST).start()
    try:
        assert wait_for(lambda: cap.stats().failures >= 3, 3.0)
        stats = cap.stats()
        assert stats.state is ConnectionState.DISCONNECTED
        assert stats.last_error is not None and "no such file" in stats.last_error
        assert stats.retry_in_s is not None and stats.retry_in_s <= FAST.max_s
    finally:
        cap.stop()


@pytest.mark.parametrize("content_length", [True, False])
def test_mjpeg_stream_delivers_frames(content_length: bool) -> None:
    server = MjpegServer(content_length=content_length).start()
    cap = CaptureThread("cam", MjpegReader(server.url, 1.0), FAST).start()
    try:
        assert wait_for(lambda: cap.stats().frames >= 5, 5.0)
        got = cap.slot.take(1.0)
        assert got is not None and got.image.shape == (120, 160, 3)
        assert cap.stats().state is ConnectionState.CONNECTED
    finally:
        cap.stop()
        server.stop()


def test_stream_lost_then_back_reconnects_with_backoff() -> None:
    server = MjpegServer().start()
    cap = CaptureThread("cam", MjpegReader(server.url, 1.0), FAST).start()
    try:
        assert wait_for(
            lambda: cap.stats().state is ConnectionState.CONNECTED and cap.stats().frames > 3,
            5.0,
        )
        server.stop()
        assert wait_for(lambda: cap.stats().state is ConnectionState.DISCONNECTED, 4.0)
        assert wait_for(lambda: cap.stats().failures >= 3, 4.0), "keeps retrying"
        assert cap.stats().last_error
        frames_before = cap.stats().frames
        MjpegServer(port=server.port).start()
        assert wait_for(lambda: cap.stats().state is ConnectionState.CONNECTED, 4.0)
        assert wait_for(lambda: cap.stats().frames > frames_before + 3, 4.0)
        stats = cap.stats()
        assert stats.reconnects == 1 and stats.last_error is not None
    finally:
        cap.stop()


def test_unreachable_stream_does_not_slow_down_another_camera(
    mjpeg_server: MjpegServer,
) -> None:
    dead_url = f"http://127.0.0.1:{free_port()}/video.mjpg"
    dead = CaptureThread(
        "dead", make_reader(dead_url, is_file=False, loop=False, timeout_s=1.0), FAST
    ).start()
    live = CaptureThread(
        "live",
        make_reader(mjpeg_server.url, is_file=False, loop=False, timeout_s=1.0),
        FAST,
    ).start()
    try:
        assert wait_for(lambda: live.stats().frames >= 3, 5.0)
        start = live.stats().frames
        time.sleep(1.0)
        # The server sends 20 fps; the dead camera's retries must not hold the live one up.
        assert live.stats().frames - start >= 10
        assert live.stats().state is ConnectionState.CONNECTED
        d = dead.stats()
        assert d.state is ConnectionState.DISCONNECTED and d.failures >= 2
        assert "cannot connect" in (d.last_error or "")
    finally:
        dead.stop()
        live.stop()


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/missing", "HTTP 404 Not Found"),
        ("/still.jpg", "not an MJPEG stream (Content-Type image/jpeg)"),
    ],
)
def test_wrong_stream_url_is_a_clear_error(
    mjpeg_server: MjpegServer, path: str, error: str
) -> None:
    url = f"http://127.0.0.1:{mjpeg_server.port}{path}"
    cap = CaptureThread("cam", MjpegReader(url, 1.0), FAST).start()
    try:
        assert wait_for(lambda: cap.stats().failures >= 1, 3.0)
        assert cap.stats().last_error == error
    finally:
        cap.stop()


def test_basic_auth_credentials_from_the_url() -> None:
    server = MjpegServer(auth="admin:s3cr%t").start()
    try:
        bad = CaptureThread("bad", MjpegReader(server.url, 1.0), FAST).start()
        good_url = server.url.replace("http://", "http://admin:s3cr%25t@")
        good = CaptureThread("good", MjpegReader(good_url, 1.0), FAST).start()
        assert wait_for(lambda: good.stats().frames >= 2, 5.0)
        assert wait_for(lambda: bad.stats().failures >= 1, 3.0)
        assert bad.stats().last_error == "HTTP 401 Unauthorized"
        bad.stop()
        good.stop()
    finally:
        server.stop()


def test_redact_url_hides_only_the_password() -> None:
    assert redact_url("rtsp://admin:pw@10.0.0.5:554/s1") == "rtsp://admin:***@10.0.0.5:554/s1"
    assert redact_url("http://cam.local/video.mjpg") == "http://cam.local/video.mjpg"
