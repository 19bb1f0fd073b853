"""/api/cameras says what each camera is doing (`status`, `status_reason`), the same as its
tile; drops come as a rate; a camera with an open alarm is marked and listed first."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fallwatch.pipeline.packets import WorkerState
from fallwatch.serve.app import FallwatchServer
from fallwatch.serve.supervisor import WorkerReport
from fallwatch.sources.capture import ConnectionState
from fallwatch.web.app import create_app
from tests.fakes.web import fall_event, login, make_server, packet, stats

CAMERAS = [
    {"id": "lobby", "name": "Lobby", "url": "rtsp://x/lobby"},
    {"id": "store", "name": "Store room", "url": "rtsp://x/store", "enabled": False},
    {"id": "ward", "name": "Ward 3", "url": "rtsp://x/ward"},
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FallwatchServer]:
    srv = make_server(tmp_path, cameras=CAMERAS)
    srv.start(run_workers=False)
    yield srv
    srv.stop()


@pytest.fixture
def client(server: FallwatchServer) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with TestClient(create_app(server), base_url="http://127.0.0.1") as c:
        yield c, {"X-CSRF-Token": login(c)}


def _by_id(c: TestClient) -> dict[str, dict[str, Any]]:
    return {cam["id"]: cam for cam in c.get("/api/cameras").json()}


def _running(server: FallwatchServer, camera_id: str) -> None:
    server.router.on_worker(WorkerReport(camera_id, WorkerState.RUNNING, "running", 0))


def test_status_of_each_camera(
    server: FallwatchServer, client: tuple[TestClient, dict[str, str]]
) -> None:
    c, headers = client
    cams = _by_id(c)
    assert cams["store"]["enabled"] is False
    assert (cams["store"]["status"], cams["store"]["status_reason"]) == (
        "disabled",
        "enabled: false in the config file",
    )
    assert cams["lobby"]["status"] == "starting"

    _running(server, "lobby")
    server.router.on_packet(packet("lobby", 1))
    got = c.get("/api/cameras/lobby").json()
    assert (got["status"], got["status_reason"]) == ("live", "")

    paused = c.post("/api/cameras/lobby/pause", headers=headers).json()
    assert (paused["status"], paused["status_reason"]) == ("paused", "paused by an operator")
    # Frames still in the hub do not make a paused camera look live.
    server.router.on_packet(packet("lobby", 2))
    assert _by_id(c)["lobby"]["status"] == "paused"
    resumed = c.post("/api/cameras/lobby/resume", headers=headers).json()
    assert resumed["status"] == "starting"

    _running(server, "ward")
    server.router.on_stats(
        stats(
            "ward",
            connection=ConnectionState.DISCONNECTED,
            last_error="cannot connect: [Errno 111] Connection refused",
            retry_in_s=4.0,
        )
    )
    ward = c.get("/api/cameras/ward").json()
    assert ward["status"] == "no_signal"
    assert ward["status_reason"] == "cannot connect: [Errno 111] Connection refused; retry in 4 s"


def test_drops_are_reported_per_second(
    server: FallwatchServer, client: tuple[TestClient, dict[str, str]]
) -> None:
    c, _ = client
    _running(server, "lobby")
    now = time.time()
    server.router.on_stats(stats("lobby", wall_time=now - 2, dropped=1000))
    assert c.get("/api/cameras/lobby").json()["stats"]["dropped_per_s"] is None
    server.router.on_stats(stats("lobby", wall_time=now, dropped=1040))
    figures = c.get("/api/cameras/lobby").json()["stats"]
    assert figures["dropped_per_s"] == 20.0
    assert figures["dropped"] == 1040


def test_a_camera_with_an_open_alarm_is_marked_and_first(
    server: FallwatchServer, client: tuple[TestClient, dict[str, str]]
) -> None:
    c, headers = client
    assert [cam["id"] for cam in c.get("/api/cameras").json()] == ["lobby", "store", "ward"]
    server.router.on_event(fall_event("ward", track_id=4))
    cams = c.get("/api/cameras").json()
    assert [cam["id"] for cam in cams] == ["ward", "lobby", "store"]
    assert cams[0]["alarm_event_id"] == 1 and cams[1]["alarm_event_id"] is None
    assert c.get("/api/cameras/ward").json()["alarm_event_id"] == 1
    # The dashboard renders the tiles in the same order, the alarming one marked.
    tiles = re.findall(r'<article class="tile([^"]*)" data-camera-id="([^"]+)"', c.get("/").text)
    assert [t[1] for t in tiles] == ["ward", "lobby", "store"]
    assert "alarming" in tiles[0][0] and "alarming" not in tiles[1][0]

    c.post("/api/events/1/acknowledge", json={}, headers=headers)
    cams = c.get("/api/cameras").json()
    assert [cam["id"] for cam in cams] == ["lobby", "store", "ward"]
    assert all(cam["alarm_event_id"] is None for cam in cams)


def test_camera_page(server: FallwatchServer, client: tuple[TestClient, dict[str, str]]) -> None:
    c, _ = client
    server.router.on_event(fall_event("ward", track_id=4))
    page = c.get("/cameras/ward")
    assert page.status_code == 200
    assert 'data-camera-id="ward"' in page.text and 'href="/events/1"' in page.text
    disabled = c.get("/cameras/store").text
    assert "enabled: false in the config file" in disabled
    assert 'class="pause"' not in disabled  # nothing to pause on a disabled camera
    assert c.get("/cameras/nope").status_code == 404
