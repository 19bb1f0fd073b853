"""`fallwatch serve` as a real process with `cluster.engine: ray` and no address: it
starts a one-machine Ray of its own, its camera runs as an actor, and SIGTERM stops the
server, the actor and Ray's own processes, leaving nothing behind."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.fakes.capture import write_video
from tests.fakes.serve import ServeProcess, cmdline, wait_gone
from tests.fakes.web import fresh_database


def test_serve_on_its_own_ray_stops_cleanly_on_sigterm(tmp_path: Path, postgres_url: str) -> None:
    pytest.importorskip("ray", reason="Ray not installed: pip install 'fallwatch[ray]'")
    video = write_video(tmp_path / "clip.avi", frames=40, fps=10.0)
    serve = ServeProcess(tmp_path, [{"id": "hall", "path": str(video), "loop": True}])
    settings = json.loads(serve.config.read_text())
    settings["database_url"] = fresh_database(postgres_url)
    settings["cluster"] = {"engine": "ray", "cpus_per_camera": 0.5}
    serve.config.write_text(json.dumps(settings))
    serve.start()
    try:
        tree = serve.wait_ready(workers=1, timeout_s=150.0)
        assert any("raylet" in cmdline(p) for p in tree), "Ray runs under the server"
        (camera,) = serve.api("/api/cameras")
        assert "node" in camera["worker_message"] or camera["worker"] == "running", camera
        serve.signal(signal.SIGTERM)
        assert serve.proc is not None
        assert serve.proc.wait(60) == 0, serve.log()
        assert wait_gone(tree, 30.0) is not None, [cmdline(p) for p in tree]
        log = serve.log()
        assert "SIGTERM: stopping" in log and "camera hall: server stopping" in log, log
        assert "fallwatch serve stopped (SIGTERM)" in log, log
        assert "Traceback" not in log, log
    finally:
        serve.close()
