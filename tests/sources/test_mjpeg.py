"""The MJPEG reader's limits against a real local server that misbehaves on command."""

from __future__ import annotations

import resource
import threading
import time

import pytest

from fallwatch.config.server import ReconnectConfig
from fallwatch.sources.capture import CaptureThread, ConnectionState
from fallwatch.sources.errors import CaptureError
from fallwatch.sources.mjpeg import MAX_PART_BYTES, MjpegReader
from tests.fakes.capture import MjpegServer, wait_for

TIMEOUT_S = 1.0
CONFIG = ReconnectConfig(initial_s=0.2, max_s=5.0, read_timeout_s=TIMEOUT_S)


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


@pytest.mark.parametrize("content_length", [True, False])
def test_a_garbage_stream_is_reported_stalled_then_recovers(content_length: bool) -> None:
    server = MjpegServer(content_length=content_length).start()
    cap = CaptureThread("cam", MjpegReader(server.url, TIMEOUT_S), CONFIG).start()
    try:
        assert wait_for(lambda: cap.stats().state is ConnectionState.CONNECTED, 5.0)
        server.garbage.set()  # bytes keep coming, frames do not
        start = time.monotonic()
        assert wait_for(lambda: cap.stats().state is ConnectionState.STALLED, TIMEOUT_S + 3)
        stalled_after_s = time.monotonic() - start
        assert stalled_after_s <= TIMEOUT_S + 1.0, stalled_after_s
        stats = cap.stats()
        assert stats.stalls >= 1 and "no frame for 1 s" in (stats.last_error or "")
        assert "bytes arrived" in (stats.last_error or ""), stats.last_error
        time.sleep(2 * TIMEOUT_S)  # reconnects land on garbage again: still stalled
        assert cap.stats().state is ConnectionState.STALLED and cap.stats().stalls >= 2
        frames = cap.stats().frames
        server.garbage.clear()
        start = time.monotonic()
        assert wait_for(lambda: cap.stats().frames > frames + 2, 3.0), "frames flow again"
        assert cap.stats().state is ConnectionState.CONNECTED
        assert time.monotonic() - start < 3.0
    finally:
        cap.stop()
        server.stop()


def test_a_silent_stream_is_reported_stalled() -> None:
    server = MjpegServer(fps=0.1).start()  # one frame, then ten seconds of silence
    cap = CaptureThread("cam", MjpegReader(server.url, TIMEOUT_S), CONFIG).start()
    try:
        assert wait_for(lambda: cap.stats().state is ConnectionState.STALLED, TIMEOUT_S + 2)
        assert "the camera sent nothing" in (cap.stats().last_error or "")
    finally:
        cap.stop()
        server.stop()


def test_a_part_announcing_1_5_gb_is_refused_without_reading_it() -> None:
    server = MjpegServer().start()
    server.announce_bytes = 1_500_000_000
    reader = MjpegReader(server.url, timeout_s=5.0)
    errors: list[BaseException] = []

    def read() -> None:
        try:
            reader.read()
        except BaseException as exc:
            errors.append(exc)

    try:
        reader.open()
        before = rss_bytes()
        start = time.monotonic()
        t = threading.Thread(target=read, daemon=True)
        t.start()
        t.join(3.0)
        assert not t.is_alive(), "refused fast, not read for minutes"
        assert time.monotonic() - start < 1.0
        assert len(errors) == 1 and isinstance(errors[0], CaptureError), errors
        assert "1500000000 bytes" in str(errors[0]) and str(MAX_PART_BYTES) in str(errors[0])
        assert rss_bytes() - before < 20_000_000, "nothing of it held in memory"
    finally:
        reader.close()
        server.stop()
