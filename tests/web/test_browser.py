"""The dashboard in a real headless Chromium, with a real worker watching a real fall clip.

Log in, see the live tile change, watch the looping UP-Fall clip raise an alert that
appears on the page without a reload (banner and beep), acknowledge it from the banner,
and find it acknowledged after a reload.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fallwatch.serve.app import FallwatchServer
from tests.fakes.web import ADMIN, LiveServer, make_server

FALL_CLIP = "videos/upfall/UPFall_S1_A01_T1_Cam2.mp4"


@pytest.fixture
def fall_server(tmp_path: Path, falls_dir: Path) -> Iterator[FallwatchServer]:
    srv = make_server(
        tmp_path,
        recording={"pre_s": 1, "post_s": 1},
        cameras=[
            {
                "id": "upfall",
                "name": "UP-Fall lab",
                "location": "Lab 1",
                "path": str(falls_dir / FALL_CLIP),
                "loop": True,
                "analysis_fps": 6,
                "fall": {"confirm_s": 2},
            }
        ],
    )
    srv.start()
    yield srv
    srv.stop()


def test_operator_sees_a_fall_alert_live_and_acknowledges_it(
    browser: object, fall_server: FallwatchServer
) -> None:
    with LiveServer(fall_server) as web:
        page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        page.set_default_timeout(20_000)
        page.goto(f"{web.url}/")
        assert "/login" in page.url
        page.fill("input[name=username]", ADMIN[0])
        page.fill("input[name=password]", ADMIN[1])
        page.click("button[type=submit]")
        page.wait_for_url(f"{web.url}/")

        tile = page.locator('.tile[data-camera-id="upfall"]')
        tile.wait_for()
        # The worker loads its model, then frames flow: the tile says so and the picture moves.
        # Predicates as functions: a string expression is eval'd in the page, which the
        # Content-Security-Policy (no 'unsafe-eval') forbids, as it should.
        page.wait_for_function(
            "() => document.querySelector('.tile[data-camera-id=upfall]').dataset.status === 'live'",
            timeout=60_000,
        )
        img = tile.locator("img.live")
        page.wait_for_function("() => document.querySelector('.tile img.live').naturalWidth > 0")
        first = img.screenshot()
        deadline = time.monotonic() + 10
        while img.screenshot() == first:
            assert time.monotonic() < deadline, "the live image did not change"
            time.sleep(0.3)
        assert "fps" in tile.locator('[data-field="fps"]').inner_text()

        # The fall in the clip raises an alert: the banner appears without a reload.
        banner = page.locator("#alarm-banner")
        banner.wait_for(state="visible", timeout=60_000)
        assert "UP-Fall lab" in banner.inner_text() and "PERSON DOWN" in banner.inner_text()
        event_id = banner.get_attribute("data-event-id")
        assert event_id
        assert page.evaluate("window.fallwatchBeeps") >= 1
        assert page.locator(f'#alarm-list li[data-event-id="{event_id}"]').count() == 1

        page.click("#alarm-ack")
        banner.wait_for(state="hidden")

        page.goto(f"{web.url}/events")
        row = page.locator(f'tr[data-event-id="{event_id}"]')
        state = row.locator(".event-state").inner_text()
        # The looping clip shows the person up again a few seconds later: on the timeline,
        # not a resolution; the acknowledgement by this operator is on record.
        assert state.startswith("acknowledged") and "acknowledged by admin" in state, state
        page.goto(f"{web.url}/events/{event_id}")
        assert "acknowledged by admin" in page.locator(".timeline").inner_text()
        assert page.locator('img[alt="snapshot"]').count() == 1
