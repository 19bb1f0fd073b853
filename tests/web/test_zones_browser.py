"""The zone editor in a real headless Chromium, against a real server.

With real workers on a real fall clip: a zone drawn with the mouse over where the person
lies stops the alarm, and a zone drawn elsewhere does not. Without workers (a still
picture): corners, moving, dragging a corner, the server's one-line 422, deleting, and
the YAML a config-file camera gets instead of a save.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import yaml

from fallwatch.config.server import CameraConfig
from fallwatch.serve.app import FallwatchServer
from tests.fakes.browser import log_in, screenshot
from tests.fakes.web import LiveServer, jpeg, make_server, packet

FALL_CLIP = "videos/gmdcsa24/GMDCSA24_S1_Fall_14.mp4"
"""5.7 s at 640x480, looped (MIT licence, so the docs may show it): the person falls at
about 1 s and lies still on the floor to the end, their box about x 238..430, y 349..476."""
FULL_FRAME = {"name": "setup", "polygon_xy": [[0, 0], [640, 0], [640, 480], [0, 480]]}
"""Each camera starts with a zone over everything, so no alarm comes before the editor."""
BED_XY = [(190, 300), (490, 300), (490, 479), (190, 479)]
DESK_XY = [(20, 20), (200, 20), (200, 130), (20, 130)]  # the wall: nobody lies there

Point = tuple[float, float]


def _until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _open_editor(page: Any, url: str, camera_id: str, timeout_ms: float = 20_000) -> None:
    page.goto(f"{url}/cameras/{camera_id}/zones", wait_until="domcontentloaded")
    page.wait_for_selector("#zone-editor[data-ready=true]", timeout=timeout_ms)


def _screen(page: Any, xy: Point) -> Point:
    """Where the source-frame pixel `xy` is on the screen (the picture may be scaled)."""
    picture = page.locator("#zone-picture")
    picture.scroll_into_view_if_needed()
    box = picture.bounding_box()
    editor = page.locator("#zone-editor")
    w = float(editor.get_attribute("data-frame-width"))
    h = float(editor.get_attribute("data-frame-height"))
    return box["x"] + xy[0] * box["width"] / w, box["y"] + xy[1] * box["height"] / h


def _draw(page: Any, corners: Sequence[Point], finish: str = "dblclick") -> None:
    page.click("#zone-draw")
    for xy in corners[:-1]:
        page.mouse.click(*_screen(page, xy))
    if finish == "dblclick":
        page.mouse.dblclick(*_screen(page, corners[-1]))
    else:
        page.mouse.click(*_screen(page, corners[-1]))
        page.click("#zone-finish")


def _drag(page: Any, start: Point, end: Point) -> None:
    page.mouse.move(*_screen(page, start))
    page.mouse.down()
    page.mouse.move(*_screen(page, end), steps=5)
    page.mouse.up()


def _name_last(page: Any, name: str) -> None:
    page.locator("#zone-list li input.zone-name").last.fill(name)


def _save(page: Any) -> float:
    """Save; the time the server had answered (the old worker was stopped by then)."""
    page.click("#zone-save")
    page.wait_for_function(
        "() => document.querySelector('#zone-message').textContent.startsWith('Saved')"
    )
    return time.time()


def _near(got: Sequence[Sequence[float]], want: Sequence[Point], tol_px: float) -> bool:
    return len(got) == len(want) and all(
        abs(g[0] - w[0]) <= tol_px and abs(g[1] - w[1]) <= tol_px
        for g, w in zip(got, want, strict=True)
    )


def _zones(server: FallwatchServer, camera_id: str) -> list[tuple[str, list[Point]]]:
    config = server.cameras.config_of(camera_id)
    assert config is not None
    return [(z.name, list(z.polygon_xy)) for z in config.fall.zones]


# --- real workers on a real fall clip ---------------------------------------------------


@pytest.fixture
def clip_server(tmp_path: Path, falls_dir: Path) -> Iterator[FallwatchServer]:
    srv = make_server(tmp_path, recording={"pre_s": 1, "post_s": 1})
    srv.start()
    for camera_id, name in (("bedroom", "Bedroom"), ("hall", "Hall")):
        srv.cameras.add(
            CameraConfig.model_validate(
                {
                    "id": camera_id,
                    "name": name,
                    "path": str(falls_dir / FALL_CLIP),
                    "loop": True,
                    "analysis_fps": 6,
                    # The JPEGs are 320 px wide: the editor must still save frame pixels.
                    "max_width_px": 320,
                    "fall": {"confirm_s": 2, "zones": [FULL_FRAME]},
                }
            )
        )
    yield srv
    srv.stop()


def _analysed_since(server: FallwatchServer, camera_id: str, since: float, frames: int) -> None:
    """Wait until a worker started after `since` has analysed `frames` frames."""

    def fresh() -> bool:
        latest = server.hub.latest(camera_id)
        return latest is not None and latest.captured_at > since

    _until(fresh, 90, f"frames from {camera_id}'s restarted worker")
    latest = server.hub.latest(camera_id)
    assert latest is not None
    first = latest.stats.analysed

    def enough() -> bool:
        stats = server.hub.stats(camera_id)
        return stats is not None and stats.analysed >= first + frames

    _until(enough, 120, f"{frames} frames analysed on {camera_id}")


def test_a_zone_drawn_in_the_editor_stops_the_alarm_inside_it_and_not_elsewhere(
    browser: Any, clip_server: FallwatchServer
) -> None:
    srv = clip_server
    with LiveServer(srv) as web:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(20_000)
        log_in(page, web.url)

        # The bedroom: the zone goes over the bed, where the person will lie.
        _open_editor(page, web.url, "bedroom", timeout_ms=90_000)  # the model loads first
        assert page.locator("#zone-editor").get_attribute("data-frame-width") == "640"
        assert page.evaluate("() => document.querySelector('#zone-picture').naturalWidth") == 320
        page.locator("#zone-list li").first.locator("button.zone-delete").click()
        _draw(page, BED_XY, finish="dblclick")
        _name_last(page, "bed")
        screenshot(page, "zones")
        bedroom_saved_at = _save(page)
        [(name, polygon)] = _zones(srv, "bedroom")
        assert name == "bed" and _near(polygon, BED_XY, tol_px=2), polygon

        # The hall: the same scene, a zone away from where the person lies.
        _open_editor(page, web.url, "hall")
        page.locator("#zone-list li").first.locator("button.zone-delete").click()
        _draw(page, DESK_XY, finish="button")
        _name_last(page, "desk")
        _save(page)
        assert [n for n, _ in _zones(srv, "hall")] == ["desk"]

        banner = page.locator("#alarm-banner")
        banner.wait_for(state="visible", timeout=90_000)
        assert "Hall" in banner.inner_text() and "PERSON DOWN" in banner.inner_text()
        assert srv.events.list_events(camera_id="hall", limit=5)

        # Meanwhile the bedroom's worker, restarted with the bed zone, saw the same fall
        # twice over at least (the clip loops every 5.7 s) and raised nothing.
        _analysed_since(srv, "bedroom", bedroom_saved_at, frames=100)
        time.sleep(1.0)  # an event from the last frames reaches the store
        assert srv.events.list_events(camera_id="bedroom", limit=5) == []
        # The live view draws the saved zone: its top edge (y 300, on the 320 px JPEG 150)
        # crosses the plain wall, where the annotated picture differs from the raw one.
        # (The worker sends the raw picture only while someone asks for it.)
        assert srv.cameras.want_raw("bedroom")
        latest = srv.hub.wait_latest("bedroom", lambda p: p.raw_jpeg is not None, 10.0)
        assert latest is not None and latest.raw_jpeg is not None
        annotated, raw = (
            cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR).astype(int)
            for j in (latest.annotated_jpeg, latest.raw_jpeg)
        )
        strip = np.s_[146:155, 100:190]
        diff = np.abs(annotated[strip] - raw[strip]).max(axis=2).max(axis=0)
        assert np.median(diff) > 60, f"the bed zone is not on the live view: {diff}"
        context.close()


# --- a still picture: the editing itself ------------------------------------------------


@pytest.fixture
def still_server(tmp_path: Path) -> Iterator[FallwatchServer]:
    srv = make_server(
        tmp_path, cameras=[{"id": "lobby", "name": "Lobby", "url": "rtsp://10.0.0.9/s1"}]
    )
    srv.start(run_workers=False)
    srv.cameras.add(CameraConfig(id="ward", name="Ward", url="rtsp://10.0.0.9/s2"))
    for camera_id in ("lobby", "ward"):
        # A 1280x720 camera whose live JPEGs are 320x180.
        still = replace(packet(camera_id, 1), raw_jpeg=jpeg(90, (320, 180)), frame_wh=(1280, 720))
        srv.hub.put_packet(still)
    yield srv
    srv.stop()


def _polygon(page: Any) -> list[list[float]]:
    points = page.locator("#zone-svg polygon").first.get_attribute("points")
    return [[float(v) for v in p.split(",")] for p in points.split()]


def test_drawing_moving_and_deleting_zones_in_frame_pixels(
    browser: Any, still_server: FallwatchServer
) -> None:
    srv = still_server
    with LiveServer(srv) as web:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(15_000)
        log_in(page, web.url)
        _open_editor(page, web.url, "ward")
        assert page.locator("#zone-editor").get_attribute("data-frame-width") == "1280"

        # Two corners are not a zone; a third one is.
        page.click("#zone-draw")
        for xy in ((200, 200), (600, 200)):
            page.mouse.click(*_screen(page, xy))
        page.click("#zone-finish")
        assert "at least 3 corners" in page.locator("#zone-message").inner_text()
        page.mouse.click(*_screen(page, (400, 500)))
        page.click("#zone-finish")
        assert _near(_polygon(page), [(200, 200), (600, 200), (400, 500)], tol_px=4)

        # Drag inside it: the whole zone moves; drag a corner: that corner moves.
        _drag(page, (400, 300), (500, 350))
        assert _near(_polygon(page), [(300, 250), (700, 250), (500, 550)], tol_px=6)
        _drag(page, (500, 550), (500, 650))
        moved = [(300, 250), (700, 250), (500, 650)]
        assert _near(_polygon(page), moved, tol_px=6)
        _name_last(page, "bed 2")
        assert page.locator("#zone-svg text").first.text_content() == "bed 2"
        _save(page)
        [(name, polygon)] = _zones(srv, "ward")
        assert name == "bed 2" and _near(polygon, moved, tol_px=6), polygon

        # A bow-tie comes back from the server as one line, shown; nothing is saved.
        _draw(page, [(900, 100), (1200, 400), (1200, 100), (900, 400)])
        page.click("#zone-save")
        message = page.locator("#zone-message")
        page.wait_for_function(
            "() => document.querySelector('#zone-message').classList.contains('error')"
        )
        text = message.inner_text()
        assert "zones.1.polygon_xy" in text and "self-intersecting (a bow-tie)" in text
        assert "\n" not in text
        assert len(_zones(srv, "ward")) == 1
        # Deleted with the keyboard (it is the selected zone), then saved.
        page.keyboard.press("Delete")
        assert page.locator("#zone-list li").count() == 1
        _save(page)
        assert [n for n, _ in _zones(srv, "ward")] == ["bed 2"]
        context.close()


def test_a_config_file_camera_gets_yaml_to_paste_not_a_save(
    browser: Any, still_server: FallwatchServer
) -> None:
    with LiveServer(still_server) as web:
        context = browser.new_context(
            viewport={"width": 1280, "height": 1000},
            permissions=["clipboard-read", "clipboard-write"],
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        log_in(page, web.url)
        _open_editor(page, web.url, "lobby")
        assert page.locator("#zone-save").count() == 0
        assert "source of truth" in page.locator(".zone-config-note").inner_text()
        _draw(page, [(100, 100), (500, 100), (500, 400), (100, 400)])
        page.click("#zone-yaml-make")
        page.locator("#zone-yaml-box").wait_for(state="visible")
        text = page.locator("#zone-yaml").inner_text()
        block = yaml.safe_load(text)
        [zone] = block["fall"]["zones"]
        assert zone["name"] == "zone 1"
        assert _near(zone["polygon_xy"], [(100, 100), (500, 100), (500, 400), (100, 400)], 6)
        page.click("#zone-copy")
        page.wait_for_function(
            "() => document.querySelector('#zone-message').textContent === 'Copied'"
        )
        assert page.evaluate("() => navigator.clipboard.readText()") == text
        assert still_server.cameras.config_of("lobby").fall.zones == []  # type: ignore[union-attr]
        context.close()
