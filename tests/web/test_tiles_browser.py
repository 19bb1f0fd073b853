"""Truthful camera tiles in a real headless Chromium against a real server.

A paused camera shows the paused overlay and no picture (its stream stopped); a camera
disabled in the config says so, with the reason, and has no Pause button; a camera whose
URL cannot be reached (a real worker) shows "no signal"; the camera with an open alarm is
first and framed red; the dashboard, events, event and camera pages fit a 390 px phone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from fallwatch.bench.data import data_dir
from fallwatch.pipeline.packets import FramePacket, WorkerState
from fallwatch.serve.app import FallwatchServer
from fallwatch.serve.supervisor import WorkerReport
from tests.fakes.browser import log_in, screenshot
from tests.fakes.web import LiveServer, fall_event, free_port, make_server, stats

CAMERAS = [
    {"id": "lobby", "name": "Lobby", "location": "Ground floor", "url": "rtsp://x/lobby"},
    {
        "id": "store",
        "name": "Store room",
        "location": "Basement",
        "url": "rtsp://x/store",
        "enabled": False,
    },
    {"id": "ward", "name": "Ward 3", "location": "Bed 2", "url": "rtsp://x/ward"},
]
# GMDCSA24 is MIT-licensed, so its frames may appear in the committed docs screenshots;
# UP-Fall's terms allow research use only, not redistribution.
FEED_CLIP = "falls/videos/gmdcsa24/GMDCSA24_S1_ADL_10.mp4"


def _pictures(n: int = 8) -> list[bytes]:
    """JPEG frames for the fake cameras: from a shared clip when there is one (so the docs'
    screenshots show a room), else drawn."""
    frames: list[np.ndarray[Any, Any]] = []
    root = data_dir()
    if root is not None and (root / FEED_CLIP).is_file():
        cap = cv2.VideoCapture(str(root / FEED_CLIP))
        while len(frames) < n:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(cv2.resize(frame, (320, 240)))
        cap.release()
    for i in range(len(frames), n):
        frame = np.full((240, 320, 3), 60, np.uint8)
        cv2.circle(frame, (40 + i * 30, 120), 20, (200, 200, 200), -1)
        frames.append(frame)
    return [cv2.imencode(".jpg", f)[1].tobytes() for f in frames]


class FakeCameras:
    """Stands in for running workers: a frame and figures every 0.2 s for each enabled,
    unpaused camera, and a 'running' report when its worker would be running."""

    def __init__(self, server: FallwatchServer) -> None:
        self.server = server
        self.pictures = _pictures()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        seq = 0
        while not self.stop.wait(0.2):
            seq += 1
            for entry in self.server.cameras.list():
                cam = entry.config
                if entry.paused or not cam.enabled:
                    continue
                report = self.server.hub.worker(cam.id)
                if report is None or report.state is not WorkerState.RUNNING:
                    self.server.router.on_worker(
                        WorkerReport(cam.id, WorkerState.RUNNING, "running", 0)
                    )
                jpeg = self.pictures[seq % len(self.pictures)]
                # A 25 fps source analysed at 5 fps: 20 frames a second replaced unseen.
                figures = stats(cam.id, frames=25 * seq // 5, dropped=20 * seq // 5)
                self.server.router.on_packet(
                    FramePacket(cam.id, seq, time.time(), jpeg, jpeg, figures)
                )

    def __enter__(self) -> FakeCameras:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FallwatchServer]:
    srv = make_server(tmp_path, cameras=CAMERAS)
    srv.start(run_workers=False)
    yield srv
    srv.stop()


def _page(browser: Any, url: str, width: int = 1280, height: int = 900) -> Any:
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(15_000)
    log_in(page, url)
    return page


def _wait_status(page: Any, camera_id: str, status: str) -> Any:
    page.wait_for_function(
        "([id, s]) => document.querySelector(`.tile[data-camera-id='${id}']`)?.dataset.status === s",
        arg=[camera_id, status],
    )
    return page.locator(f'.tile[data-camera-id="{camera_id}"]')


def _picture_gone(tile: Any) -> None:
    """No picture: the <img> is hidden and has no src (its MJPEG stream is closed)."""
    img = tile.locator("img.live")
    assert img.is_hidden()
    assert img.get_attribute("src") is None
    assert tile.locator('[data-field="overlay"]').is_visible()


def test_a_paused_camera_shows_its_overlay_and_no_picture(
    browser: Any, server: FallwatchServer
) -> None:
    with FakeCameras(server), LiveServer(server) as web:
        page = _page(browser, web.url)
        lobby = _wait_status(page, "lobby", "live")
        page.wait_for_function(
            "() => document.querySelector('.tile[data-camera-id=lobby] img.live').naturalWidth > 0"
        )
        assert lobby.locator('[data-field="overlay"]').is_hidden()
        page.wait_for_function(
            "() => /dropped\\/s/.test(document.querySelector('.tile[data-camera-id=lobby] [data-field=dropped]').textContent)"
        )
        screenshot(page, "dashboard")

        lobby.locator("button.pause").click()
        lobby = _wait_status(page, "lobby", "paused")
        _picture_gone(lobby)
        overlay = lobby.locator('[data-field="overlay"]').inner_text()
        assert "Paused" in overlay and "paused by an operator" in overlay
        assert lobby.locator("button.pause").inner_text() == "Resume"
        # The figures of a stopped worker are not shown as if current.
        fps = lobby.locator('[data-field="fps"]').inner_text()
        assert fps.endswith(" fps") and not any(ch.isdigit() for ch in fps), fps
        # The same from the server on a fresh load, while the hub still holds frames.
        page.reload(wait_until="domcontentloaded")
        _picture_gone(_wait_status(page, "lobby", "paused"))

        page.locator('.tile[data-camera-id="lobby"] button.pause').click()
        lobby = _wait_status(page, "lobby", "live")
        assert lobby.locator("img.live").is_visible()
        assert lobby.locator('[data-field="overlay"]').is_hidden()
        page.close()


def test_a_camera_disabled_in_the_config_says_so_with_no_pause_button(
    browser: Any, server: FallwatchServer
) -> None:
    with LiveServer(server) as web:
        page = _page(browser, web.url)
        store = _wait_status(page, "store", "disabled")
        _picture_gone(store)
        overlay = store.locator('[data-field="overlay"]').inner_text()
        assert "Disabled" in overlay and "enabled: false in the config file" in overlay
        assert store.locator('[data-field="status"]').inner_text() == "Disabled"
        assert store.locator("button.pause").count() == 0
        # The others can be paused.
        assert page.locator('.tile[data-camera-id="lobby"] button.pause').count() == 1
        page.close()


def test_a_camera_that_cannot_be_reached_shows_no_signal(browser: Any, tmp_path: Path) -> None:
    # A real worker, a URL nobody listens on.
    url = f"http://127.0.0.1:{free_port()}/video.mjpg"
    srv = make_server(tmp_path, cameras=[{"id": "gone", "name": "Gone", "url": url}])
    srv.start()
    try:
        with LiveServer(srv) as web:
            page = _page(browser, web.url)
            page.set_default_timeout(60_000)
            gone = _wait_status(page, "gone", "no_signal")
            _picture_gone(gone)
            overlay = gone.locator('[data-field="overlay"]').inner_text()
            assert "No signal" in overlay and "Connection refused" in overlay, overlay
            assert "retry in" in overlay
            page.close()
    finally:
        srv.stop()


def test_the_alarming_camera_is_first_and_framed_red(browser: Any, server: FallwatchServer) -> None:
    with FakeCameras(server), LiveServer(server) as web:
        page = _page(browser, web.url)
        _wait_status(page, "ward", "live")
        order = (
            "() => [...document.querySelectorAll('.tile')].map((t) => t.dataset.cameraId).join(',')"
        )
        assert page.evaluate(order) == "lobby,store,ward"
        # A fall on the last camera, while the page is open: it moves first, framed red.
        server.router.on_event(fall_event("ward", track_id=2))
        page.locator("#alarm-banner").wait_for(state="visible")
        page.wait_for_function(f"() => ({order})() === 'ward,lobby,store'")
        ward = page.locator('.tile[data-camera-id="ward"]')
        assert "alarming" in (ward.get_attribute("class") or "")
        assert ward.evaluate("(el) => getComputedStyle(el).borderTopColor") == "rgb(224, 37, 43)"
        assert ward.locator('[data-field="alarm"]').is_visible()
        lobby_class = page.locator('.tile[data-camera-id="lobby"]').get_attribute("class") or ""
        assert "alarming" not in lobby_class
        screenshot(page, "alarm")

        # Its own page: the big live picture, its status, its recent event.
        ward.locator("a.name").click()
        page.wait_for_url(f"{web.url}/cameras/ward")
        big = _wait_status(page, "ward", "live")
        page.wait_for_function("() => document.querySelector('.tile img.live').naturalWidth > 0")
        assert big.locator('[data-field="alarm"]').is_visible()
        assert page.locator('#camera-events li[data-event-id="1"]').count() == 1
        screenshot(page, "camera")
        page.close()


NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"


def test_pages_fit_a_phone(browser: Any, server: FallwatchServer) -> None:
    server.router.on_event(fall_event("ward", track_id=2))
    with FakeCameras(server), LiveServer(server) as web:
        page = _page(browser, web.url, 390, 844)
        _wait_status(page, "ward", "live")
        for path in ("/", "/events", "/events/1", "/cameras/ward"):
            page.goto(f"{web.url}{path}", wait_until="load")
            page.wait_for_timeout(300)
            widths = page.evaluate(
                "() => [document.documentElement.scrollWidth, window.innerWidth]"
            )
            assert page.evaluate(NO_SIDEWAYS_SCROLL), (path, widths)
            logout = page.locator("header.top button[type=submit]").bounding_box()
            assert logout is not None and logout["x"] + logout["width"] <= 390, (path, logout)
            if path == "/":
                _wait_status(page, "ward", "live")
                # Tiles stack: one column.
                xs = page.evaluate(
                    "() => [...document.querySelectorAll('.tile')].map((t) => t.getBoundingClientRect().x)"
                )
                assert len(set(xs)) == 1, xs
                screenshot(page, "phone")
        page.close()
