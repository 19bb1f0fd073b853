"""Fault figures for `fallwatch serve`: shutdown, a killed server, a garbage stream.

    PYTHONPATH=. python bench/faults.py [--cameras 2] [--garbage-s 10]

Starts real `fallwatch serve` processes on free ports with looping file cameras and an
MJPEG camera whose source this script controls (the test fakes), and prints:

- seconds until no process of the server is left after SIGTERM, and after `kill -9` of
  the main process only (its workers and the multiprocessing resource tracker included);
- seconds until an MJPEG source that switched to random bytes is reported `stalled` by
  /api/cameras (and /api/health `degraded`), against `read_timeout_s` + 1 s, and until
  frames flow again after the source recovers, against 3 s.

Timings depend on the machine's load, printed first.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.capture import MjpegServer, write_video
from tests.fakes.serve import ServeProcess, wait_gone

READ_TIMEOUT_S = 5.0  # the default `workers.reconnect.read_timeout_s`


def poll(predicate: Callable[[], bool], timeout_s: float, step_s: float = 0.05) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if predicate():
            return time.monotonic() - start
        time.sleep(step_s)
    return None


def fmt(seconds: float | None, limit_s: float) -> str:
    if seconds is None:
        return f"not within {limit_s:g} s  FAIL"
    return f"{seconds:5.2f} s  (target <= {limit_s:g} s)  {'ok' if seconds <= limit_s else 'FAIL'}"


def file_cameras(tmp: Path, n: int) -> list[dict[str, Any]]:
    video = write_video(tmp / "clip.avi", frames=60, fps=10.0)
    return [
        {"id": f"file-{i}", "path": str(video), "loop": True, "analysis_fps": 2} for i in range(n)
    ]


def shutdown(tmp: Path, signum: signal.Signals, cameras: int) -> float | None:
    """Seconds from `signum` to the main process until none of the server's processes runs."""
    serve = ServeProcess(tmp, file_cameras(tmp, cameras)).start()
    try:
        tree = serve.wait_ready(workers=cameras) | {serve.pid}
        start = time.monotonic()
        serve.signal(signum)
        gone = wait_gone(tree, 30.0)
        assert serve.proc is not None
        serve.proc.wait(5)
        return None if gone is None else time.monotonic() - start
    finally:
        serve.close()


def camera(serve: ServeProcess, camera_id: str) -> dict[str, Any]:
    cams: list[dict[str, Any]] = serve.api("/api/cameras")
    return next(c for c in cams if c["id"] == camera_id)


def garbage(tmp: Path, garbage_s: float) -> tuple[float | None, bool, float | None]:
    """(seconds to `stalled`, /api/health degraded then, seconds to frames again)."""
    source = MjpegServer(fps=10).start()
    cams = [{"id": "mjpeg", "url": source.url, "analysis_fps": 2}]
    serve = ServeProcess(tmp, cams).start()
    try:
        serve.wait_ready(workers=1)
        poll(lambda: (camera(serve, "mjpeg")["stats"] or {}).get("connection") == "connected", 30)
        source.garbage.set()
        stalled_s = poll(
            lambda: (camera(serve, "mjpeg")["stats"] or {}).get("connection") == "stalled",
            READ_TIMEOUT_S * 3,
        )
        degraded = serve.api("/api/health")["status"] == "degraded"
        time.sleep(max(0.0, garbage_s - (stalled_s or 0.0)))
        frames = camera(serve, "mjpeg")["stats"]["frames"]
        source.garbage.clear()

        def flowing() -> bool:
            stats = camera(serve, "mjpeg")["stats"]
            return bool(stats["frames"] > frames and stats["connection"] == "connected")

        back_s = poll(flowing, 30.0)
        serve.signal(signal.SIGTERM)
        assert serve.proc is not None
        serve.proc.wait(30)
        return stalled_s, degraded, back_s
    finally:
        serve.close()
        source.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=2, help="File cameras (default 2).")
    parser.add_argument(
        "--garbage-s", type=float, default=10.0, help="Seconds of random bytes (default 10)."
    )
    args = parser.parse_args()
    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    with tempfile.TemporaryDirectory(prefix="fallwatch-faults-") as base:
        root = Path(base)
        for name, signum in (("SIGTERM", signal.SIGTERM), ("kill -9 of main", signal.SIGKILL)):
            tmp = root / name.replace(" ", "-")
            tmp.mkdir()
            gone_s = shutdown(tmp, signum, args.cameras)
            print(f"{name:>16}: no server process left after {fmt(gone_s, 5.0)}")
        tmp = root / "garbage"
        tmp.mkdir()
        stalled_s, degraded, back_s = garbage(tmp, args.garbage_s)
        print(f"  garbage stream: reported stalled after {fmt(stalled_s, READ_TIMEOUT_S + 1)}")
        print(f"                  /api/health degraded while stalled: {degraded}")
        print(f"       recovered: frames flowing again after {fmt(back_s, 3.0)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
