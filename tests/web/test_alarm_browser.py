"""Alarms that cannot be missed, in a real headless Chromium against a real server.

An open alarm raises the banner on a fresh page load (not only on a live notice); an
ended session shows the full-screen "session expired" overlay instead of going silent;
a display that wants sound but is blocked by the browser says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fallwatch.serve.app import FallwatchServer
from tests.fakes.browser import chromium, log_in
from tests.fakes.web import LiveServer, fall_event, make_server


@pytest.fixture
def strict_browser() -> Iterator[Any]:
    """A browser that, like a freshly started wall display, allows sound only after a click."""
    with chromium(["--autoplay-policy=document-user-activation-required"]) as b:
        yield b


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FallwatchServer]:
    srv = make_server(
        tmp_path,
        cameras=[{"id": "ward", "name": "Ward 3", "location": "Bed 2", "url": "rtsp://x/s"}],
    )
    srv.start(run_workers=False)
    yield srv
    srv.stop()


def test_an_open_alarm_raises_the_banner_on_a_fresh_page_load(
    browser: Any, server: FallwatchServer
) -> None:
    with LiveServer(server) as web:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        log_in(page, web.url)
        assert page.locator("#alarm-banner").is_hidden()
        # The event is stored while no page is open to hear the live notice.
        page.close()
        server.router.on_event(fall_event("ward", track_id=3))
        page = context.new_page()
        page.set_default_timeout(15_000)
        for path in ("/", "/events"):
            page.goto(f"{web.url}{path}", wait_until="domcontentloaded")
            banner = page.locator("#alarm-banner")
            banner.wait_for(state="visible")
            assert "Ward 3" in banner.inner_text() and "PERSON DOWN" in banner.inner_text()
            assert page.title().startswith("PERSON DOWN")
            assert page.evaluate("() => window.fallwatchBeeps") >= 1
        page.goto(f"{web.url}/", wait_until="domcontentloaded")
        page.locator("#alarm-banner").wait_for(state="visible")
        assert page.locator("#alarm-count").inner_text() == "1"
        page.click("#alarm-ack")
        page.locator("#alarm-banner").wait_for(state="hidden")
        page.reload(wait_until="domcontentloaded")
        page.wait_for_function("() => document.querySelector('#alarm-count').textContent === '0'")
        assert page.locator("#alarm-banner").is_hidden()
        context.close()


def test_an_ended_session_shows_the_expired_overlay_not_silence(
    browser: Any, server: FallwatchServer
) -> None:
    with LiveServer(server) as web:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        log_in(page, web.url)
        overlay = page.locator("#session-expired")
        assert overlay.is_hidden()
        # Ended on the server (as a logout elsewhere, or 'log out everywhere', would).
        cookie = next(c["value"] for c in context.cookies() if c["name"] == "fw_session")
        data = server.signer.read(cookie)
        assert data is not None
        server.auth.logout(data)
        overlay.wait_for(state="visible")
        assert "Session expired: log in" in overlay.inner_text()
        assert page.url == f"{web.url}/"  # the page stays, with the overlay over it
        page.click("#session-login")
        page.wait_for_url("**/login?next=%2F")
        context.close()


BLOCK_AUDIO_UNTIL_CLICK = """
(() => {
  const Real = window.AudioContext;
  let clicked = false;
  document.addEventListener("click", () => { clicked = true; }, { capture: true });
  window.AudioContext = class extends Real {
    constructor(...args) { super(...args); if (!clicked) super.suspend(); }
    resume() { return clicked ? super.resume() : new Promise(() => {}); }
  };
})();
"""


def test_a_display_says_when_the_browser_blocks_its_sound(
    strict_browser: Any, server: FallwatchServer
) -> None:
    server.router.on_event(fall_event("ward", track_id=5))
    with LiveServer(server) as web:
        login = strict_browser.new_context()
        log_in(login.new_page(), web.url)
        state = login.storage_state()
        login.close()
        # A display started with a login but no click on its page since (a restart).
        context = strict_browser.new_context(
            viewport={"width": 1280, "height": 900}, storage_state=state
        )
        # Chromium's autoplay flag alone let sound start now and then in this headless
        # set-up; make the block certain: an audio context that stays suspended until a
        # click on the page, as the autoplay policy specifies.
        context.add_init_script(BLOCK_AUDIO_UNTIL_CLICK)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{web.url}/?display=1", wait_until="domcontentloaded")
        page.locator("#alarm-banner").wait_for(state="visible")
        # No click since this load: the browser holds the sound back, and the page says so.
        blocked = page.locator("#sound-blocked")
        blocked.wait_for(state="visible")
        assert "Sound blocked" in blocked.inner_text()
        assert page.evaluate("() => document.body.classList.contains('display')")
        page.wait_for_function("() => window.fallwatchSound === 'blocked'")
        # One click arms it.
        blocked.click()
        page.wait_for_function("() => window.fallwatchSound === 'on'")
        assert blocked.is_hidden()
        # A restarted display (no ?display=1 this time) is still one, and still wants sound.
        page.goto(f"{web.url}/", wait_until="domcontentloaded")
        page.wait_for_function("() => document.body.classList.contains('display')")
        page.wait_for_function("() => ['on', 'blocked'].includes(window.fallwatchSound)")
        if page.evaluate("() => window.fallwatchSound") == "blocked":
            page.locator("#sound-blocked").wait_for(state="visible")
        page.goto(f"{web.url}/?display=0", wait_until="domcontentloaded")
        page.wait_for_function("() => window.fallwatchSound !== undefined")
        assert not page.evaluate("() => document.body.classList.contains('display')")
        context.close()
