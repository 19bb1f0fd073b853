"""The whole server under load, as a control room would run it (`fallwatch bench-serve`).

Starts the server in-process (own data directory in a temp folder) with N file cameras
played at real time (looping), attaches V MJPEG viewers that each watch every camera
(operators with the dashboard open), lets it settle, then measures for a while and
prints per camera:

- analysed fps (target: the camera's analysis_fps; 5 by default),
- frames dropped per second (read from the source, never analysed: newer ones won),
- latency capture -> annotated JPEG ready (worker) and capture -> received by a viewer,
  median and 95th percentile, milliseconds,
- CPU of the camera's worker process (percent of one core),

plus the main process's CPU and the machine's load (other work on a shared machine
slows everything down: the load average says how much).

The web app comes from the caller (`make_app`): the benchmark runs what `fallwatch
serve` runs without this package depending on the web layer.
"""

from __future__ import annotations

import os
import re
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from fallwatch.bench.machine import cpu_model, load_average_1min

if TYPE_CHECKING:
    # The server's modules load only when the benchmark runs: `fallwatch --help` and
    # every other command import this module's command and should stay quick.
    from fallwatch.config.server import ServerConfig
    from fallwatch.pipeline.packets import CameraEvent, CameraStats, FramePacket
    from fallwatch.serve.app import FallwatchServer
    from fallwatch.serve.listener import WorkerRouter
    from fallwatch.serve.supervisor import WorkerReport

DEFAULT_CLIP = "videos/upfall/UPFall_S1_A01_T1_Cam2.mp4"
START_TIMEOUT_S = 180.0
"""Every camera must run and be connected within this long."""

AppFactory = Callable[["FallwatchServer"], Any]
"""Builds the ASGI app (what uvicorn serves) for a server."""


@dataclass(frozen=True)
class ServeBenchSettings:
    cameras: int
    """File cameras to run."""
    viewers: int
    """MJPEG viewers, each watching every camera."""
    video: Path | None
    """Clip to play; None: the default clip under $FALLWATCH_DATA/falls."""
    analysis_fps: float
    """Analysis rate per camera."""
    seconds: float
    """Measuring time after warm-up."""
    warmup_s: float
    """Seconds after every camera runs before measuring."""


def _default_video() -> Path:
    env = os.environ.get("FALLWATCH_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2].parent / "shared" / "data")
    for base in candidates:
        if (base / "falls" / DEFAULT_CLIP).is_file():
            return base / "falls" / DEFAULT_CLIP
    raise ValueError(f"no --video given and {DEFAULT_CLIP} not found under $FALLWATCH_DATA/falls")


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
    """Wraps the server's worker router as the supervisor's listener, noting each
    frame's latency."""

    def __init__(self, router: WorkerRouter, figures: dict[str, _CameraFigures]) -> None:
        self.router = router
        self.figures = figures
        self.measuring = False
        self.lock = threading.Lock()

    def on_packet(self, packet: FramePacket) -> None:
        if self.measuring:
            with self.lock:
                self.figures[packet.camera_id].worker_latency_ms.append(packet.stats.latency_ms)
        self.router.on_packet(packet)

    def on_stats(self, stats: CameraStats) -> None:
        self.router.on_stats(stats)

    def on_event(self, event: CameraEvent) -> None:
        self.router.on_event(event)

    def on_worker(self, report: WorkerReport) -> None:
        self.router.on_worker(report)


def _viewer(
    url: str, token: str, recorder: _Recorder, camera_id: str, stop: threading.Event
) -> None:
    import httpx

    header_re = re.compile(rb"X-Captured-At: ([0-9.]+)")
    length_re = re.compile(rb"Content-Length: (\d+)")
    with (
        httpx.Client(timeout=30, headers={"Authorization": f"Bearer {token}"}) as client,
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


@dataclass
class _Measurement:
    elapsed_s: float
    main_cpu_pct: float
    start_stats: dict[str, CameraStats | None]
    end_stats: dict[str, CameraStats | None]
    start_cpu: dict[str, float | None]
    end_cpu: dict[str, float | None]
    load_before: float | None
    load_after: float | None


class _WebServer:
    """uvicorn serving the app on 127.0.0.1 in a thread."""

    def __init__(self, app: Any, port: int) -> None:
        import uvicorn

        self.uv = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=port,
                log_level="warning",
                timeout_graceful_shutdown=1,
            )
        )
        self.thread = threading.Thread(target=self.uv.run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.uv.should_exit = True
        self.thread.join(5)


def _server_config(tmp: str, video: Path, ids: list[str], analysis_fps: float) -> ServerConfig:
    from fallwatch.config.loader import parse_server_config

    return parse_server_config(
        {
            "data_dir": tmp,
            "web": {"port": _free_port(), "mjpeg_max_fps": 30},
            "cameras": [
                {"id": cid, "path": str(video), "loop": True, "analysis_fps": analysis_fps}
                for cid in ids
            ],
        },
        env={},
    )


def _wait_until_running(server: FallwatchServer, ids: list[str]) -> None:
    from fallwatch.pipeline.packets import WorkerState
    from fallwatch.sources.capture import ConnectionState

    deadline = time.monotonic() + START_TIMEOUT_S
    while not all(
        (r := server.hub.worker(c)) is not None
        and r.state is WorkerState.RUNNING
        and (s := server.hub.stats(c)) is not None
        and s.connection is ConnectionState.CONNECTED
        for c in ids
    ):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the cameras did not all start within {START_TIMEOUT_S:.0f} s")
        time.sleep(0.5)


def _start_viewers(
    server: FallwatchServer,
    port: int,
    ids: list[str],
    viewers: int,
    recorder: _Recorder,
    stop: threading.Event,
) -> None:
    from fallwatch.types import Role

    token, _ = server.auth.create_token("bench", Role.VIEWER, None)
    base = f"http://127.0.0.1:{port}"
    threads = [
        threading.Thread(
            target=_viewer,
            args=(f"{base}/api/cameras/{cid}/live.mjpg", token, recorder, cid, stop),
            daemon=True,
        )
        for _ in range(viewers)
        for cid in ids
    ]
    for t in threads:
        t.start()


def _measure(
    server: FallwatchServer, ids: list[str], recorder: _Recorder, seconds: float
) -> _Measurement:
    load_before = load_average_1min()
    pids = {c: server.supervisor.pid(c) for c in ids}
    start_stats = {c: server.hub.stats(c) for c in ids}
    start_cpu = {c: _cpu_seconds(p) if p else None for c, p in pids.items()}
    main_cpu0 = time.process_time()
    t0 = time.monotonic()
    recorder.measuring = True
    time.sleep(seconds)
    recorder.measuring = False
    elapsed = time.monotonic() - t0
    main_cpu = (time.process_time() - main_cpu0) / elapsed * 100
    end_stats = {c: server.hub.stats(c) for c in ids}
    end_cpu = {c: _cpu_seconds(p) if p else None for c, p in pids.items()}
    return _Measurement(
        elapsed,
        main_cpu,
        start_stats,
        end_stats,
        start_cpu,
        end_cpu,
        load_before,
        load_average_1min(),
    )


ListenerT = TypeVar("ListenerT", bound="_Recorder")


@contextmanager
def serving(
    config: ServerConfig,
    make_app: AppFactory,
    listener: Callable[[FallwatchServer], ListenerT],
    *,
    viewers: int,
    warmup_s: float,
    seconds: float,
) -> Iterator[tuple[FallwatchServer, ListenerT]]:
    """A real server (workers, web, viewers) with `listener` taking the workers' messages,
    running and warmed up; stopped on the way out. Both bench-serve modes measure inside."""
    from fallwatch.serve.app import FallwatchServer

    ids = [c.id for c in config.cameras]
    server = FallwatchServer(config, env={})
    recorder = listener(server)
    server.supervisor.listener = recorder
    server.migrate()
    server.start()
    web = _WebServer(make_app(server), config.web.port)
    web.start()
    stop = threading.Event()
    try:
        _wait_until_running(server, ids)
        _start_viewers(server, config.web.port, ids, viewers, recorder, stop)
        print(f"warming up {warmup_s:g} s, then measuring {seconds:g} s ...")
        time.sleep(warmup_s)
        yield server, recorder
    finally:
        stop.set()
        web.stop()
        server.stop()


def run_serve_bench(settings: ServeBenchSettings, make_app: AppFactory) -> int:
    """Run the benchmark and print its table; 0 (the figures say whether targets were met)."""
    from fallwatch.sources.video import probe_video

    if settings.cameras < 1 or settings.viewers < 0 or settings.seconds <= 0:
        raise ValueError("--cameras must be >= 1, --viewers >= 0, --seconds > 0")
    video = settings.video or _default_video()
    info = probe_video(video)
    ids = [f"cam-{i + 1}" for i in range(settings.cameras)]
    figures = {cid: _CameraFigures() for cid in ids}
    with tempfile.TemporaryDirectory(prefix="fallwatch-bench-") as tmp:
        config = _server_config(tmp, video, ids, settings.analysis_fps)
        print(
            f"bench-serve: {settings.cameras} camera(s) playing {video.name} ({info.width}x{info.height} "
            f"@ {info.fps:.0f} fps) at real time, analysis {settings.analysis_fps:g} fps each, "
            f"{settings.viewers} viewer(s) x {settings.cameras} stream(s)"
        )
        with serving(
            config,
            make_app,
            lambda server: _Recorder(server.router, figures),
            viewers=settings.viewers,
            warmup_s=settings.warmup_s,
            seconds=settings.seconds,
        ) as (server, recorder):
            measured = _measure(server, ids, recorder, settings.seconds)
    _print_report(settings, ids, figures, measured)
    return 0


def _print_report(
    settings: ServeBenchSettings,
    ids: list[str],
    figures: dict[str, _CameraFigures],
    m: _Measurement,
) -> None:
    header = f"{'camera':<8} {'fps':>6} {'drop/s':>7} {'worker p50/p95 ms':>18} {'viewer p50/p95 ms':>18} {'viewer fps':>10} {'CPU %':>6}"
    print(header)
    print("-" * len(header))
    ok = True
    elapsed = m.elapsed_s
    for c in ids:
        a, b = m.start_stats[c], m.end_stats[c]
        assert a is not None and b is not None
        fps = (b.analysed - a.analysed) / elapsed
        drops = (b.dropped - a.dropped) / elapsed
        fig = figures[c]
        start_cpu, end_cpu = m.start_cpu[c], m.end_cpu[c]
        cpu = (
            f"{(end_cpu - start_cpu) / elapsed * 100:6.0f}"
            if start_cpu is not None and end_cpu is not None
            else "   n/a"
        )
        vfps = fig.viewer_frames / elapsed / max(1, settings.viewers)
        print(
            f"{c:<8} {fps:6.2f} {drops:7.1f} {_pct(fig.worker_latency_ms, 50):8.0f}/{_pct(fig.worker_latency_ms, 95):<9.0f} "
            f"{_pct(fig.viewer_latency_ms, 50):8.0f}/{_pct(fig.viewer_latency_ms, 95):<9.0f} {vfps:10.2f} {cpu}"
        )
        ok &= fps >= 0.95 * settings.analysis_fps
    print(f"main process (web, MJPEG, events): {m.main_cpu_pct:.0f}% CPU")
    cores = os.cpu_count()
    print(
        f"machine: {cores} core(s), {cpu_model()}; load average {_fmt_load(m.load_before)} -> {_fmt_load(m.load_after)} "
        f"(above {cores} means other work competed for the cores)"
    )
    target = 0.95 * settings.analysis_fps
    print(f"target >= {target:.2f} analysed fps per camera: {'met' if ok else 'NOT met'}")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fmt_load(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"
