"""`fallwatch bench-serve`: the whole server under load, as a control room would run it.

Starts `fallwatch serve` in-process (own data directory in a temp folder) with N file
cameras played at real time (looping), attaches V MJPEG viewers that each watch every
camera (operators with the dashboard open), lets it settle, then measures for a while
and prints per camera:

- analysed fps (target: the camera's analysis_fps; 5 by default),
- frames dropped per second (read from the source, never analysed: newer ones won),
- latency capture -> annotated JPEG ready (worker) and capture -> received by a viewer,
  median and 95th percentile, milliseconds,
- CPU of the camera's worker process (percent of one core),

plus the main process's CPU and the machine's load (other work on a shared machine
slows everything down: the load average says how much).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fallwatch.bench.machine import cpu_model, load_average_1min

DEFAULT_CLIP = "videos/upfall/UPFall_S1_A01_T1_Cam2.mp4"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "bench-serve",
        help="Benchmark the server: N looping file cameras, V MJPEG viewers; per-camera fps, drops, latency, CPU.",
    )
    p.add_argument(
        "--cameras", type=int, default=4, help="File cameras to run (default 4)."
    )
    p.add_argument(
        "--viewers",
        type=int,
        default=2,
        help="MJPEG viewers, each watching every camera (default 2).",
    )
    p.add_argument(
        "--video",
        type=Path,
        default=None,
        help=f"Clip to play (default: $FALLWATCH_DATA/falls/{DEFAULT_CLIP}).",
    )
    p.add_argument(
        "--analysis-fps",
        type=float,
        default=5.0,
        help="Analysis rate per camera (default 5).",
    )
    p.add_argument(
        "--seconds",
        type=float,
        default=30.0,
        help="Measuring time after warm-up (default 30).",
    )
    p.add_argument(
        "--warmup-s",
        type=float,
        default=10.0,
        help="Seconds after every camera runs before measuring.",
    )
    p.set_defaults(handler=run)


def _default_video() -> Path:
    env = os.environ.get("FALLWATCH_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2].parent / "shared" / "data")
    for base in candidates:
        if (base / "falls" / DEFAULT_CLIP).is_file():
            return base / "falls" / DEFAULT_CLIP
    raise ValueError(
        f"no --video given and {DEFAULT_CLIP} not found under $FALLWATCH_DATA/falls"
    )


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process from /proc (Linux), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class _CameraFigures:
    worker_latency_ms: list[float] = field(default_factory=list)
    viewer_latency_ms: list[float] = field(default_factory=list)
    viewer_frames: int = 0


class _Recorder:
    """Wraps the server as the supervisor's listener, noting each frame's latency."""

    def __init__(self, server: Any, figures: dict[str, _CameraFigures]) -> None:
        self.server = server
        self.figures = figures
        self.measuring = False
        self.lock = threading.Lock()

    def on_packet(self, packet: Any) -> None:
        if self.measuring:
            with self.lock:
                self.figures[packet.camera_id].worker_latency_ms.append(
                    packet.stats.latency_ms
                )
        self.server.on_packet(packet)

    def on_stats(self, stats: Any) -> None:
        self.server.on_stats(stats)

    def on_event(self, event: Any) -> None:
        self.server.on_event(event)

    def on_worker(self, report: Any) -> None:
        self.server.on_worker(report)


def _viewer(
    url: str, token: str, recorder: _Recorder, camera_id: str, stop: threading.Event
) -> None:
    import httpx

    header_re = re.compile(rb"X-Captured-At: ([0-9.]+)")
    length_re = re.compile(rb"Content-Length: (\d+)")
    with (
        httpx.Client(
            timeout=30, headers={"Authorization": f"Bearer {token}"}
        ) as client,
        client.stream("GET", url) as response,
    ):
        buf = b""
        for chunk in response.iter_bytes():
            if stop.is_set():
                return
            buf += chunk
            while True:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    break
                head = buf[:end]
                m = length_re.search(head)
                size = int(m.group(1)) if m else 0
                if len(buf) < end + 4 + size:
                    break
                captured = header_re.search(head)
                buf = buf[end + 4 + size :]
                if captured and recorder.measuring:
                    with recorder.lock:
                        fig = recorder.figures[camera_id]
                        fig.viewer_latency_ms.append(
                            (time.time() - float(captured.group(1))) * 1000
                        )
                        fig.viewer_frames += 1


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from fallwatch.app import FallwatchServer
    from fallwatch.config.loader import parse_server_config
    from fallwatch.pipeline.packets import WorkerState
    from fallwatch.sources.capture import ConnectionState
    from fallwatch.sources.video import probe_video
    from fallwatch.store.server_models import Role
    from fallwatch.web.app import create_app

    if args.cameras < 1 or args.viewers < 0 or args.seconds <= 0:
        raise ValueError("--cameras must be >= 1, --viewers >= 0, --seconds > 0")
    video = args.video or _default_video()
    info = probe_video(video)
    ids = [f"cam-{i + 1}" for i in range(args.cameras)]
    with tempfile.TemporaryDirectory(prefix="fallwatch-bench-") as tmp:
        config = parse_server_config(
            {
                "data_dir": tmp,
                "web": {"port": _free_port(), "mjpeg_max_fps": 30},
                "cameras": [
                    {
                        "id": cid,
                        "path": str(video),
                        "loop": True,
                        "analysis_fps": args.analysis_fps,
                    }
                    for cid in ids
                ],
            },
            env={},
        )
        server = FallwatchServer(config, env={})
        figures = {cid: _CameraFigures() for cid in ids}
        recorder = _Recorder(server, figures)
        server.supervisor.listener = recorder
        server.start()
        uv = uvicorn.Server(
            uvicorn.Config(
                create_app(server),
                host="127.0.0.1",
                port=config.web.port,
                log_level="warning",
                timeout_graceful_shutdown=1,
            )
        )
        web = threading.Thread(target=uv.run, daemon=True)
        web.start()
        stop = threading.Event()
        try:
            print(
                f"bench-serve: {args.cameras} camera(s) playing {video.name} ({info.width}x{info.height} "
                f"@ {info.fps:.0f} fps) at real time, analysis {args.analysis_fps:g} fps each, "
                f"{args.viewers} viewer(s) x {args.cameras} stream(s)"
            )
            deadline = time.monotonic() + 180
            while not all(
                (r := server.hub.worker(c)) is not None
                and r.state is WorkerState.RUNNING
                and (s := server.hub.stats(c)) is not None
                and s.connection is ConnectionState.CONNECTED
                for c in ids
            ):
                if time.monotonic() > deadline:
                    raise RuntimeError("the cameras did not all start within 180 s")
                time.sleep(0.5)
            token, _ = server.auth.create_token("bench", Role.VIEWER, None)
            base = f"http://127.0.0.1:{config.web.port}"
            viewers = [
                threading.Thread(
                    target=_viewer,
                    args=(
                        f"{base}/api/cameras/{cid}/live.mjpg",
                        token,
                        recorder,
                        cid,
                        stop,
                    ),
                    daemon=True,
                )
                for _ in range(args.viewers)
                for cid in ids
            ]
            for v in viewers:
                v.start()
            print(
                f"warming up {args.warmup_s:g} s, then measuring {args.seconds:g} s ..."
            )
            time.sleep(args.warmup_s)
            load_before = load_average_1min()
            pids = {c: server.supervisor.pid(c) for c in ids}
            start_stats = {c: server.hub.stats(c) for c in ids}
            start_cpu = {c: _cpu_seconds(p) if p else None for c, p in pids.items()}
            main_cpu0 = time.process_time()
            t0 = time.monotonic()
            recorder.measuring = True
            time.sleep(args.seconds)
            recorder.measuring = False
            elapsed = time.monotonic() - t0
            main_cpu = (time.process_time() - main_cpu0) / elapsed * 100
            end_stats = {c: server.hub.stats(c) for c in ids}
            end_cpu = {c: _cpu_seconds(p) if p else None for c, p in pids.items()}
            load_after = load_average_1min()
        finally:
            stop.set()
            uv.should_exit = True
            web.join(5)
            server.stop()

    header = f"{'camera':<8} {'fps':>6} {'drop/s':>7} {'worker p50/p95 ms':>18} {'viewer p50/p95 ms':>18} {'viewer fps':>10} {'CPU %':>6}"
    print(header)
    print("-" * len(header))
    ok = True
    for c in ids:
        a, b = start_stats[c], end_stats[c]
        assert a is not None and b is not None
        fps = (b.analysed - a.analysed) / elapsed
        drops = (b.dropped - a.dropped) / elapsed
        fig = figures[c]
        cpu = (
            f"{(end_cpu[c] - start_cpu[c]) / elapsed * 100:6.0f}"  # type: ignore[operator]
            if start_cpu[c] is not None and end_cpu[c] is not None
            else "   n/a"
        )
        vfps = fig.viewer_frames / elapsed / max(1, args.viewers)
        print(
            f"{c:<8} {fps:6.2f} {drops:7.1f} {_pct(fig.worker_latency_ms, 50):8.0f}/{_pct(fig.worker_latency_ms, 95):<9.0f} "
            f"{_pct(fig.viewer_latency_ms, 50):8.0f}/{_pct(fig.viewer_latency_ms, 95):<9.0f} {vfps:10.2f} {cpu}"
        )
        ok &= fps >= 0.95 * args.analysis_fps
    print(f"main process (web, MJPEG, events): {main_cpu:.0f}% CPU")
    cores = os.cpu_count()
    print(
        f"machine: {cores} core(s), {cpu_model()}; load average {_fmt_load(load_before)} -> {_fmt_load(load_after)} "
        f"(above {cores} means other work competed for the cores)"
    )
    target = 0.95 * args.analysis_fps
    print(
        f"target >= {target:.2f} analysed fps per camera: {'met' if ok else 'NOT met'}"
    )
    return 0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fmt_load(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"
