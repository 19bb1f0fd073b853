"""`fallwatch serve` with its camera workers on a local Ray cluster of three nodes.

A real cluster (Ray's `Cluster`: a head that runs no camera, three worker nodes), a real
PostgreSQL, a real webhook receiver on 127.0.0.1, and three file cameras from the shared
clips: one person falls and stays down, two cameras show people standing about. The
test checks the cameras are spread over the nodes, the fall makes exactly one event and
one alert, and that after the node of the fall camera is removed its camera runs again
on another node within 30 s while the person is still down, without a second event.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import pytest

from fallwatch.config.loader import parse_server_config
from fallwatch.serve.app import FallwatchServer
from fallwatch.store import events as events_repo
from tests.fakes.notify import WEBHOOK_SECRET, WebhookServer, webhook_config_data
from tests.fakes.web import ENV, fresh_database
from tests.fakes.worker import wait_for

FALL_CLIP = "videos/upfall/UPFall_S1_A01_T1_Cam2.mp4"
"""The person falls at 2.5 s and lies still to the end (7.9 s)."""
STANDING_CLIPS = (
    "videos/upfall/UPFall_S1_A07_T1_Cam1.mp4",
    "videos/upfall/UPFall_S1_A07_T2_Cam1.mp4",
)
HOLD_S = 150.0
"""How long the fallen person stays on the floor in the fall camera's clip."""
FAILOVER_LIMIT_S = 30.0


def _fall_then_lie_still(falls_dir: Path, out: Path) -> Path:
    """The fall clip, then its last frame held for HOLD_S: someone who does not get up."""
    cap = cv2.VideoCapture(str(falls_dir / FALL_CLIP))
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    for _ in range(int(HOLD_S * fps)):
        writer.write(frames[-1])
    writer.release()
    return out


@pytest.fixture
def webhook() -> Iterator[WebhookServer]:
    server = WebhookServer()
    yield server
    server.close()


@pytest.fixture
def server(
    tmp_path: Path,
    falls_dir: Path,
    ray_cluster: Any,
    postgres_url: str,
    webhook: WebhookServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[FallwatchServer]:
    monkeypatch.setenv("FW_WEBHOOK_SECRET", WEBHOOK_SECRET)
    fall_clip = _fall_then_lie_still(falls_dir, tmp_path / "fall-and-lie.avi")
    camera = {"analysis_fps": 5, "fall": {"confirm_s": 2}}
    data = {
        "data_dir": str(tmp_path / "data"),
        "database_url": fresh_database(postgres_url),
        "cluster": {"engine": "ray", "cpus_per_camera": 0.5, "poll_s": 0.3},
        "cameras": [
            {"id": "fall", "path": str(fall_clip), **camera},
            *(
                {"id": f"stand-{i}", "path": str(falls_dir / clip), "loop": True, **camera}
                for i, clip in enumerate(STANDING_CLIPS)
            ),
        ],
        "notify": webhook_config_data(webhook.url),
    }
    config = parse_server_config(data)
    srv = FallwatchServer(config, env=ENV)
    srv.migrate()
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def _events(server: FallwatchServer, camera_id: str) -> list[events_repo.EventRow]:
    with server.sessions() as session:
        return events_repo.list_events(session, camera_id=camera_id)


def _delivering(server: FallwatchServer, camera_id: str, since: float) -> bool:
    packet = server.hub.latest(camera_id)
    return packet is not None and packet.captured_at > since


def test_cameras_spread_fall_alerts_once_and_a_lost_node_moves_its_cameras(
    server: FallwatchServer, ray_cluster: Any, webhook: WebhookServer
) -> None:
    engine: Any = server.supervisor
    ids = ["fall", "stand-0", "stand-1"]
    head_node = ray_cluster.head_node.node_id
    t0 = time.time()
    assert wait_for(lambda: all(_delivering(server, c, t0) for c in ids), 90.0), {
        c: server.supervisor.report(c) for c in ids
    }
    placement = engine.placement()
    assert len({placement[c] for c in ids}) == 3, f"one camera per node: {placement}"
    assert head_node not in placement.values(), "the head runs no camera"

    # The fall: exactly one event, and one alert at the webhook.
    assert wait_for(lambda: _events(server, "fall"), 60.0), server.supervisor.report("fall")
    assert wait_for(lambda: len(webhook.accepted) >= 1, 20.0), webhook.received
    (event,) = _events(server, "fall")
    assert event.kind == "fall"

    # The fall camera's node goes away while the person is still on the floor.
    lost = placement["fall"]
    node = next(n for n in ray_cluster.worker_nodes if n.node_id == lost)
    removed_at = time.time()
    ray_cluster.remove_node(node, allow_graceful=False)
    assert wait_for(
        lambda: (
            engine.placement()["fall"] not in (lost, None)
            and _delivering(server, "fall", removed_at)
        ),
        FAILOVER_LIMIT_S,
    ), (engine.placement(), server.supervisor.report("fall"))
    failover_s = time.time() - removed_at
    assert engine.placement()["fall"] != head_node
    report = server.supervisor.report("fall")
    assert report is not None and report.restarts >= 1

    # The new actor sees the person go down again (the clip restarts): the same event.
    assert wait_for(lambda: engine.carry.carried >= 1, 60.0), server.supervisor.report("fall")
    time.sleep(3.0)  # room for a wrong second alert to reach the webhook
    assert [e.id for e in _events(server, "fall")] == [event.id], "no second event"
    kinds = [a.get("kind") for a in webhook.accepted if a.get("event_id") == event.id]
    assert len(webhook.accepted) == 1, (kinds, webhook.accepted)
    assert webhook.violations == []
    for cid in ("stand-0", "stand-1"):
        assert wait_for(lambda c=cid: _delivering(server, c, time.time() - 2), 30.0), cid
    print(f"failover of the fall camera: {failover_s:.1f} s")
