"""/api/events and the events page: time ranges (since/until), free text, the camera
dropdown, paging that keeps the filter; and one time convention: every time the API
answers is ISO 8601 in UTC with its zone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from fallwatch.serve.app import FallwatchServer
from fallwatch.store.models import Event
from fallwatch.web.api.routes import pages
from fallwatch.web.app import create_app
from fallwatch.web.schemas import AttemptPublic, EventPublic
from tests.fakes.web import fall_event, login, make_server

CAMERAS = [
    {"id": "lobby", "name": "Lobby", "location": "Ground floor", "url": "rtsp://x/1"},
    {"id": "ward", "name": "Ward 3", "location": "Bed 2", "url": "rtsp://x/2"},
]
# Event 1 on the lobby late on 24 November (UTC), 2 on the ward at noon on the 25th,
# 3 on the lobby just after midnight on the 26th.
RAISED = {
    1: datetime(2026, 11, 24, 23, 30, tzinfo=UTC),
    2: datetime(2026, 11, 25, 12, 0, tzinfo=UTC),
    3: datetime(2026, 11, 26, 0, 30, tzinfo=UTC),
}


def set_raised(server: FallwatchServer, raised: dict[int, datetime]) -> None:
    """Move events' `created_at` (the recorder stamps them with the real clock)."""
    with server.sessions.begin() as session:
        for event_id, at in raised.items():
            session.execute(update(Event).where(Event.id == event_id).values(created_at=at))


@pytest.fixture
def three(tmp_path: Path, database_url: str | None) -> Iterator[tuple[TestClient, str]]:
    srv = make_server(tmp_path, database_url, cameras=CAMERAS)
    srv.start(run_workers=False)
    try:
        with TestClient(create_app(srv), base_url="http://127.0.0.1") as c:
            csrf = login(c)
            for n, camera in enumerate(("lobby", "ward", "lobby"), start=1):
                srv.router.on_event(fall_event(camera, track_id=n))
            set_raised(srv, RAISED)
            yield c, csrf
    finally:
        srv.stop()


def ids(client: TestClient, query: str) -> list[int]:
    r = client.get(f"/api/events?{query}")
    assert r.status_code == 200, r.text
    return [e["id"] for e in r.json()]


def test_since_and_until_bound_the_time_an_event_was_raised(
    three: tuple[TestClient, str],
) -> None:
    c, _ = three
    assert ids(c, "") == [3, 2, 1]
    day = "since=2026-11-25T00:00:00Z&until=2026-11-26T00:00:00Z"
    assert ids(c, day) == [2]
    # The same day for someone in Seoul: 24 Nov 15:00 UTC to 25 Nov 15:00 UTC.
    seoul = "since=2026-11-25T00:00:00%2B09:00&until=2026-11-26T00:00:00%2B09:00"
    assert ids(c, seoul) == [2, 1]
    assert ids(c, "since=2026-11-25T12:00:00Z") == [3, 2]  # at or after
    assert ids(c, "until=2026-11-25T12:00:00Z") == [1]  # before
    assert ids(c, "since=2026-11-26T00:00:00Z&until=2026-11-25T00:00:00Z") == []
    # Together with the other filters and paging.
    assert ids(c, "camera_id=lobby&since=2026-11-24T00:00:00Z") == [3, 1]
    assert ids(c, "camera_id=lobby&since=2026-11-24T00:00:00Z&before_id=3") == [1]
    assert ids(c, "state=open&state=suppressed&until=2026-11-26T00:00:00Z") == [2, 1]
    assert ids(c, "state=resolved&until=2026-11-26T00:00:00Z") == []


@pytest.mark.parametrize(
    "query",
    [
        "since=yesterday",
        "until=2026-13-01T00:00:00Z",
        "since=2026-11-25T00:00:00",  # no zone: whose midnight?
        "until=2026-11-25",
        "since=9999-12-31T23:59:59-23:00",  # valid ISO, past datetime's range in UTC
        "until=0001-01-01T00:00:00%2B23:00",
    ],
)
def test_a_bad_time_is_a_422_in_one_line(three: tuple[TestClient, str], query: str) -> None:
    c, _ = three
    for path in ("/api/events", "/api/alerts", "/events"):
        if path == "/api/alerts" and not query.startswith("since"):
            continue  # /api/alerts has no `until`
        r = c.get(f"{path}?{query}")
        assert r.status_code == 422, (path, query, r.text)
        detail = r.json()["detail"]
        name = query.split("=")[0]
        assert name in detail and "\n" not in detail, detail


def test_free_text_matches_camera_names_and_places(three: tuple[TestClient, str]) -> None:
    c, _ = three
    assert ids(c, "q=ward") == [2]  # the camera's id and name
    assert ids(c, "q=WARD%203") == [2]
    assert ids(c, "q=ground") == [3, 1]  # the camera's location
    assert ids(c, "q=bed&camera_id=lobby") == []
    assert ids(c, "q=%25") == []  # LIKE's wildcards are literal
    assert ids(c, "q=_") == []
    assert ids(c, "q=%20%20") == [3, 2, 1]  # blank: no text filter
    r = c.get("/api/events?q=" + "x" * 101)
    assert r.status_code == 422 and "q" in r.json()["detail"]


ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def times_in(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """Every field whose name says it is a time (`..._at`), with its value."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from times_in(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from times_in(v, key)
    elif key.endswith("_at") and value is not None:
        yield key, value


def test_every_time_the_api_answers_is_utc_with_its_zone(three: tuple[TestClient, str]) -> None:
    c, csrf = three
    h = {"X-CSRF-Token": csrf}
    c.post("/api/events/2/acknowledge", json={"note": "on my way"}, headers=h)
    c.post("/api/events/2/resolve", headers=h)
    c.post("/api/tokens", json={"name": "bot"}, headers=h)
    found: dict[str, str] = {}
    for path in ("/api/events", "/api/events/2", "/api/alerts", "/api/users", "/api/tokens"):
        r = c.get(path)
        assert r.status_code == 200, r.text
        found.update(times_in(r.json()))
    for name in ("created_at", "down_from_at", "acknowledged_at", "resolved_at"):
        assert name in found
    for name, value in found.items():
        assert ISO_UTC.match(value), f"{name}: {value!r}"
    # The schemas make it so whatever the store hands them: a time without a zone is
    # UTC (as the store keeps it), one in another zone is the same instant in UTC.
    naive = datetime(2026, 11, 25, 14, 39, 36)
    seoul = datetime(2026, 11, 25, 23, 39, 36, tzinfo=timezone(timedelta(hours=9)))
    attempt = AttemptPublic(
        id=1,
        started_at=naive,
        finished_at=seoul,
        ok=True,
        http_status=200,
        provider_answer=None,
        provider_message_id=None,
        error=None,
    )
    data = attempt.model_dump(mode="json")
    assert data["started_at"] == data["finished_at"] == "2026-11-25T14:39:36Z"
    schema = EventPublic.model_json_schema(mode="serialization")
    assert schema["properties"]["created_at"]["format"] == "date-time"


def test_the_events_page_offers_the_cameras_and_pages_with_the_filter(
    three: tuple[TestClient, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    c, _ = three
    page = c.get("/events").text
    # The camera choice (the header's language selector has options too).
    choice = re.search(r'<select name="camera_id".*?</select>', page, re.S)
    assert choice is not None
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', choice.group(0))
    assert options == [("", "All cameras"), ("lobby", "Lobby"), ("ward", "Ward 3")]
    # A shared link naming a camera that has gone keeps it as a choice.
    page = c.get("/events?camera_id=gone").text
    assert '<option value="gone" selected>gone</option>' in page
    assert "No events." in page
    # A page of 1: "Older events" carries the filter on to the next page.
    monkeypatch.setattr(pages, "EVENTS_PAGE_SIZE", 1)
    query = "camera_id=lobby&since=2026-11-24T00:00:00Z&q=floor"
    page = c.get(f"/events?{query}").text
    assert re.findall(r'<tr data-event-id="(\d+)"', page) == ["3"]
    older = re.search(r'<a id="older-events" href="([^"]+)"', page)
    assert older, page
    href = older.group(1).replace("&amp;", "&")
    assert "camera_id=lobby" in href and "q=floor" in href and "before_id=3" in href
    assert "since=2026-11-24T00%3A00%3A00Z" in href
    page = c.get(href).text
    assert re.findall(r'<tr data-event-id="(\d+)"', page) == ["1"]
    # The date range comes back for the page's script as the instants it was given.
    assert 'name="since" id="filter-since" value="2026-11-24T00:00:00+00:00"' in page
