"""The events page and an event's page in a real headless Chromium against a real server.

The list follows the server's notices in place (no reload: typed filter text stays, and
acknowledging a row changes it where it is); the camera filter is a dropdown of the
cameras; a date range is the browser's local days; times show their date and zone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from fallwatch.serve.app import FallwatchServer
from fallwatch.store.models import Event
from tests.fakes.browser import log_in, screenshot
from tests.fakes.web import LiveServer, fall_event, make_server
from tests.web.test_events_api import CAMERAS, set_raised

SEOUL = "Asia/Seoul"  # UTC+9 all year: local days differ from UTC days at 15:00 UTC


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FallwatchServer]:
    srv = make_server(tmp_path, cameras=CAMERAS)
    srv.start(run_workers=False)
    yield srv
    srv.stop()


def _page(browser: Any, url: str, timezone_id: str = "UTC") -> Any:
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, timezone_id=timezone_id, locale="en-US"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, url)
    return page


def _row_ids(page: Any) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(
        "#events-table tbody tr[data-event-id]", "rows => rows.map(r => r.dataset.eventId)"
    )
    return ids


def _wait_refreshed(page: Any) -> None:
    """Until the page has loaded its list from the API at least once (its first connect)."""
    page.wait_for_function("() => (window.fallwatchEventsRefreshed || 0) >= 1")


def test_the_list_gains_a_row_live_and_keeps_what_is_typed(
    browser: Any, server: FallwatchServer
) -> None:
    server.router.on_event(fall_event("lobby", track_id=1))
    with LiveServer(server) as web:
        page = _page(browser, web.url)
        page.goto(f"{web.url}/events", wait_until="domcontentloaded")
        _wait_refreshed(page)
        assert _row_ids(page) == ["1"]
        # Someone is typing a filter, and has ticked a state, not yet applied.
        page.evaluate("() => { window.marker = 1; }")
        page.fill("#filter-text", "Ward")
        page.check("input[name=state][value=open]")
        first_row = page.locator('tr[data-event-id="1"]').element_handle()
        page.evaluate("(row) => { row.dataset.marker = 'kept'; }", first_row)

        server.router.on_event(fall_event("ward", track_id=2))
        page.locator('#events-table tr[data-event-id="2"]').wait_for()
        assert _row_ids(page) == ["2", "1"]  # the new one on top
        assert "Ward 3" in page.locator('tr[data-event-id="2"]').inner_text()
        assert page.evaluate("() => window.marker") == 1, "the page was reloaded"
        assert page.input_value("#filter-text") == "Ward"
        assert page.is_checked("input[name=state][value=open]")
        # The row already shown is the same element, left where it was.
        assert (
            page.evaluate("() => document.querySelector('tr[data-event-id=\"1\"]').dataset.marker")
            == "kept"
        )

        # Acknowledge from the list: the row changes in place, still no reload.
        page.click('tr[data-event-id="2"] button.ack')
        state = page.locator('tr[data-event-id="2"] .event-state')
        page.wait_for_function(
            "() => document.querySelector('tr[data-event-id=\"2\"] .event-state').textContent.startsWith('acknowledged')"
        )
        assert "acknowledged by admin at" in state.inner_text()
        assert page.locator('tr[data-event-id="2"] button.ack').count() == 0
        assert page.evaluate("() => window.marker") == 1, "the page was reloaded"
        assert page.input_value("#filter-text") == "Ward"
        # An acknowledgement elsewhere (the API, another operator) arrives as a notice.
        server.actions.resolve(1, by="nurse", note=None)
        page.wait_for_function(
            "() => document.querySelector('tr[data-event-id=\"1\"] .event-state').textContent.startsWith('resolved')"
        )
        assert (
            "resolved by nurse at"
            in page.locator('tr[data-event-id="1"] .event-state').inner_text()
        )
        assert page.evaluate("() => window.marker") == 1
        # The docs' picture without the glow of rows that just changed.
        page.wait_for_function("() => document.getAnimations().length === 0")
        screenshot(page, "events")
        page.context.close()


def test_the_camera_filter_is_a_dropdown_of_the_cameras(
    browser: Any, server: FallwatchServer
) -> None:
    for n, camera in enumerate(("lobby", "ward", "lobby"), start=1):
        server.router.on_event(fall_event(camera, track_id=n))
    with LiveServer(server) as web:
        page = _page(browser, web.url)
        page.goto(f"{web.url}/events", wait_until="domcontentloaded")
        options = page.eval_on_selector_all(
            "select[name=camera_id] option", "os => os.map(o => [o.value, o.textContent])"
        )
        assert options == [["", "All cameras"], ["lobby", "Lobby"], ["ward", "Ward 3"]]
        page.select_option("select[name=camera_id]", "lobby")
        page.click("#event-filters button[type=submit]")
        page.wait_for_url(re.compile(r"camera_id=lobby"), wait_until="domcontentloaded")
        _wait_refreshed(page)
        assert _row_ids(page) == ["3", "1"]
        assert page.input_value("select[name=camera_id]") == "lobby"
        # A new event on another camera does not join this filtered list; one on it does.
        server.router.on_event(fall_event("ward", track_id=4))
        server.router.on_event(fall_event("lobby", track_id=5))
        page.locator('#events-table tr[data-event-id="5"]').wait_for()
        assert _row_ids(page) == ["5", "3", "1"]
        page.context.close()


def test_a_date_range_is_the_browsers_local_days(browser: Any, server: FallwatchServer) -> None:
    for n in (1, 2, 3):
        server.router.on_event(fall_event("lobby", track_id=n))
    # In Seoul: event 1 on 24 Nov at 23:00, 2 on 25 Nov at 01:00, 3 on 26 Nov at 08:00.
    set_raised(
        server,
        {
            1: datetime(2026, 11, 24, 14, 0, tzinfo=UTC),
            2: datetime(2026, 11, 24, 16, 0, tzinfo=UTC),
            3: datetime(2026, 11, 25, 23, 0, tzinfo=UTC),
        },
    )
    with LiveServer(server) as web:
        page = _page(browser, web.url, timezone_id=SEOUL)
        page.goto(f"{web.url}/events", wait_until="domcontentloaded")
        page.fill("#filter-from", "2026-11-25")
        page.fill("#filter-to", "2026-11-25")
        page.click("#event-filters button[type=submit]")
        page.wait_for_url(re.compile(r"since="), wait_until="domcontentloaded")
        # Seoul's 25 November, as instants in the URL (a link that means the same anywhere).
        assert "since=2026-11-24T15%3A00%3A00.000Z" in page.url
        assert "until=2026-11-25T15%3A00%3A00.000Z" in page.url
        _wait_refreshed(page)
        assert _row_ids(page) == ["2"]
        raised = page.locator('tr[data-event-id="2"] td:nth-child(5) time').inner_text()
        assert "11/25/2026" in raised and "01:00:00" in raised and "GMT+9" in raised, raised
        # The page shown again from the URL (a shared link) shows the same days.
        page.reload(wait_until="domcontentloaded")
        assert page.input_value("#filter-from") == "2026-11-25"
        assert page.input_value("#filter-to") == "2026-11-25"
        assert _row_ids(page) == ["2"]
        page.context.close()


def test_the_event_timeline_shows_the_date_and_zone(browser: Any, server: FallwatchServer) -> None:
    server.router.on_event(fall_event("ward", track_id=1))
    # Down at 16:29:50 UTC on 25 Nov, raised at 16:30 (as the recorder would, earlier).
    with server.sessions.begin() as session:
        session.execute(
            update(Event)
            .where(Event.id == 1)
            .values(
                fall_seen_at=datetime(2026, 11, 25, 16, 29, 48, tzinfo=UTC),
                down_from_at=datetime(2026, 11, 25, 16, 29, 50, tzinfo=UTC),
                created_at=datetime(2026, 11, 25, 16, 30, tzinfo=UTC),
            )
        )
    server.actions.acknowledge(1, by="admin", note="on my way")
    with LiveServer(server) as web:
        page = _page(browser, web.url, timezone_id=SEOUL)
        page.goto(f"{web.url}/events/1", wait_until="domcontentloaded")
        assert page.locator("h2", has_text="Timeline").inner_text() == "Timeline"
        items = page.locator(".timeline li").all_inner_texts()
        raised = next(i for i in items if "alert raised" in i)
        # 16:30 UTC on 25 Nov is 01:30 on 26 Nov in Seoul: the date and zone say so.
        assert "11/26/2026" in raised and "01:30:00" in raised and "GMT+9" in raised, raised
        for item in items:
            assert re.search(r"\d\d/\d\d/\d{4}", item) and "GMT+9" in item, item
        assert any("acknowledged by admin" in i for i in items)
        screenshot(page, "event")
        page.context.close()
