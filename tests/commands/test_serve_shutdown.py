"""`fallwatch serve` as a real process: SIGTERM stops it like Ctrl-C, and workers never
outlive it (not even a `kill -9` of the main process)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.capture import write_video
from tests.fakes.serve import ServeProcess, cmdline, wait_gone


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[ServeProcess]:
    video = write_video(tmp_path / "clip.avi", frames=40, fps=10.0)
    cameras = [{"id": "hall", "path": str(video), "loop": True, "analysis_fps": 2}]
    proc = ServeProcess(tmp_path, cameras).start()
    yield proc
    proc.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_sigterm_stops_workers_like_ctrl_c_and_leaves_no_process(
    serve: ServeProcess, signum: signal.Signals
) -> None:
    tree = serve.wait_ready(workers=1)
    assert any("spawn_main" in cmdline(p) for p in tree), "a camera worker runs"
    serve.signal(signum)
    assert serve.proc is not None
    assert serve.proc.wait(20) == 0, serve.log()
    assert wait_gone(tree, 5.0) is not None, [cmdline(p) for p in tree]
    log = serve.log()
    assert f"{signum.name}: stopping" in log and "camera hall: server stopping" in log, log
    assert f"fallwatch serve stopped ({signum.name})" in log, log
    assert "Traceback" not in log, log


def test_workers_exit_when_the_main_process_is_killed(serve: ServeProcess) -> None:
    tree = serve.wait_ready(workers=1)
    serve.signal(signal.SIGKILL)
    assert serve.proc is not None
    serve.proc.wait(10)
    assert wait_gone(tree, 5.0) is not None, [cmdline(p) for p in tree]
    assert "is gone" in serve.log(), serve.log()
