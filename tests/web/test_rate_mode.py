"""The motion gate's pick (full or idle rate, and why) in /metrics and the camera API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fallwatch.serve.app import FallwatchServer
from tests.fakes.web import login, stats


def test_rate_mode_and_reason_reach_metrics_and_the_camera_api(
    client: TestClient, server: FallwatchServer
) -> None:
    login(client)
    server.router.on_stats(
        stats("lobby", analysis_fps=1.0, rate_mode="idle", rate_reason="no motion")
    )
    text = client.get("/metrics").text
    assert 'fallwatch_camera_idle{camera="lobby"} 1.0' in text
    assert 'fallwatch_camera_rate_info{camera="lobby",mode="idle",reason="no motion"} 1.0' in text
    cam = client.get("/api/cameras/lobby").json()
    assert cam["stats"]["rate_mode"] == "idle"
    assert cam["stats"]["rate_reason"] == "no motion"
    assert cam["stats"]["idle_fps"] == 1.0 and cam["stats"]["target_fps"] == 5.0

    server.router.on_stats(
        stats("lobby", rate_mode="full", rate_reason="person down", analysis_fps=5.0)
    )
    text = client.get("/metrics").text
    assert 'fallwatch_camera_idle{camera="lobby"} 0.0' in text
    assert 'reason="person down"' in text and 'reason="no motion"' not in text
    assert client.get("/api/cameras/lobby").json()["stats"]["rate_reason"] == "person down"


def test_stats_from_an_older_worker_default_to_full_rate(
    client: TestClient, server: FallwatchServer
) -> None:
    login(client)
    server.router.on_stats(stats("lobby"))
    cam = client.get("/api/cameras/lobby").json()
    assert (cam["stats"]["rate_mode"], cam["stats"]["rate_reason"]) == ("full", "gating off")
    assert 'fallwatch_camera_idle{camera="lobby"} 0.0' in client.get("/metrics").text
