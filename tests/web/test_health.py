"""/api/health and /metrics say when a camera's stream is stalled."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from fallwatch.pipeline.packets import WorkerState
from fallwatch.serve.app import FallwatchServer
from fallwatch.serve.supervisor import WorkerReport
from fallwatch.sources.capture import ConnectionState
from tests.fakes.web import login, packet, stats


def test_a_stalled_camera_degrades_health_and_is_counted(
    client: TestClient, server: FallwatchServer
) -> None:
    login(client)
    server.router.on_worker(WorkerReport("lobby", WorkerState.RUNNING, "running", 0))
    server.router.on_stats(stats("lobby"))
    server.router.on_packet(packet("lobby", 1))
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["cameras"]["lobby"] == "running/connected"
    assert health["camera_status"]["lobby"] == "live"
    server.router.on_stats(
        stats(
            "lobby",
            connection=ConnectionState.STALLED,
            stalls=2,
            last_error="stalled: no frame for 5 s",
            retry_in_s=0.4,
        )
    )
    health = client.get("/api/health").json()
    assert health["status"] == "degraded" and health["cameras"]["lobby"] == "running/stalled"
    assert health["camera_status"]["lobby"] == "stalled"
    text = client.get("/metrics").text
    assert 'fallwatch_camera_stalls_total{camera="lobby"} 2.0' in text
    assert 'fallwatch_camera_connected{camera="lobby"} 0.0' in text
    cam = client.get("/api/cameras/lobby").json()
    assert cam["stats"]["connection"] == "stalled" and cam["stats"]["stalls"] == 2
    assert cam["stats"]["last_error"].startswith("stalled")


def test_a_worker_gone_quiet_degrades_health_as_the_dashboard_shows_it(
    client: TestClient, server: FallwatchServer
) -> None:
    """Its last figures said "connected", but none came for half a minute: the tile says
    stalled, and so must /api/health (it said "running/connected" and "ok")."""
    login(client)
    server.router.on_worker(WorkerReport("lobby", WorkerState.RUNNING, "running", 0))
    server.router.on_packet(packet("lobby", 1))
    server.router.on_stats(stats("lobby", wall_time=time.time() - 30))
    health = client.get("/api/health").json()
    assert health["camera_status"]["lobby"] == "stalled"
    assert health["status"] == "degraded"
    assert client.get("/api/cameras/lobby").json()["status"] == "stalled"
