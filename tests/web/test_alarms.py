"""Alarms stay open until a person acknowledges them: 'person up again' is a line on the
timeline, not a resolution (unless `notify.policy.resolve_on_recovery` says so); the
events list shows who acknowledged and who resolved, and when, apart."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from fallwatch.serve.app import FallwatchServer
from fallwatch.types import EventKind
from fallwatch.web.app import create_app
from tests.fakes.web import fall_event, login, make_server

CAMERAS = [{"id": "ward", "name": "Ward 3", "location": "Bed 2", "url": "rtsp://x/s"}]


def _server(tmp_path: Path, **settings: Any) -> FallwatchServer:
    srv = make_server(tmp_path, cameras=CAMERAS, **settings)
    srv.start(run_workers=False)
    return srv


def _state_cell(page: str, event_id: int) -> str:
    row = re.search(rf'<tr data-event-id="{event_id}".*?</tr>', page, re.S)
    assert row, page
    cell = re.search(r'<td class="event-state">(.*?)</td>', row.group(0), re.S)
    assert cell
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell.group(1))).strip()


def test_person_up_again_leaves_the_alarm_open_until_acknowledged(tmp_path: Path) -> None:
    srv = _server(tmp_path)
    try:
        with TestClient(create_app(srv), base_url="http://127.0.0.1") as c:
            h = {"X-CSRF-Token": login(c)}
            srv.router.on_event(fall_event("ward", track_id=7))
            srv.router.on_event(fall_event("ward", track_id=7, kind=EventKind.RECOVERED))
            e = c.get("/api/events/1").json()
            assert e["state"] in ("open", "suppressed") and e["recovered_at"] is not None
            assert e["resolved_at"] is None and e["resolved_by"] is None
            assert [x["id"] for x in c.get("/api/events?state=open&state=suppressed").json()] == [1]
            assert 'data-event-id="1"' in c.get("/").text  # still on the dashboard
            assert "person up again" in c.get("/events/1").text
            assert "up again" in _state_cell(c.get("/events").text, 1)

            c.post("/api/events/1/acknowledge", json={"note": "checked"}, headers=h)
            cell = _state_cell(c.get("/events").text, 1)
            assert cell.startswith("acknowledged") and "acknowledged by admin at" in cell
            assert "resolved by" not in cell
            c.post("/api/events/1/resolve", headers=h)
            e = c.get("/api/events/1").json()
            assert e["state"] == "resolved" and e["resolved_by"] == "admin"
            cell = _state_cell(c.get("/events").text, 1)
            assert "acknowledged by admin at" in cell and "resolved by admin at" in cell
    finally:
        srv.stop()


def test_sites_can_keep_resolving_on_recovery(tmp_path: Path) -> None:
    srv = _server(tmp_path, notify={"policy": {"resolve_on_recovery": True}})
    try:
        with TestClient(create_app(srv), base_url="http://127.0.0.1") as c:
            login(c)
            srv.router.on_event(fall_event("ward", track_id=7))
            srv.router.on_event(fall_event("ward", track_id=7, kind=EventKind.RECOVERED))
            e = c.get("/api/events/1").json()
            assert e["state"] == "resolved" and e["resolved_by"].startswith("system")
            assert e["recovered_at"] is not None and e["acknowledged_at"] is None
            cell = _state_cell(c.get("/events").text, 1)
            assert "resolved by system: person up again at" in cell
            assert "acknowledged by" not in cell
    finally:
        srv.stop()
