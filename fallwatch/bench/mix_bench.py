"""A control room on one machine (`fallwatch bench-serve --mix`): mostly empty rooms.

Most cameras of a real site show an empty corridor most of the time; with the motion
gate (`fallwatch.pipeline.motion`) those cost a frame a second, and the cores go to the
cameras where something happens. The mix:

- empty: a real empty stretch of a shared clip (the Le2i lecture room before anyone
  comes in, played back and forth) or a still room picture with sensor noise added to
  each frame, both encoded as a camera would send them;
- walking: UP-Fall clips of a person walking about (real, 45 s);
- fall: a shared clip in which a person falls and stays down to its end, followed by its
  last frame (the person lying still, with sensor noise) until the person has been down
  for longer than `confirm_s`; looped, so it raises a fall on every pass.

Per camera it prints the share of time at full rate, the analysed fps while at full rate
(target: 95 % of analysis_fps) and while idle, the frames read per second against the
clip's rate (decode keeping up) and the frames dropped per second, the worker's CPU, and
on the fall cameras the alert delay: from the person being down (the manifest's
`down_from_s`, on the looped clip's clock) to the event reaching the server (target:
within confirm_s + 1 s). The machine's load average comes with every table.
"""

from __future__ import annotations

import itertools
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fallwatch.bench.data import DataNotFoundError, data_dir
from fallwatch.bench.machine import cpu_model, load_average_1min
from fallwatch.bench.mix_clips import (
    CameraKind,
    MixClip,
    empty_clips,
    fall_clips,
    walking_clips,
)
from fallwatch.bench.serve_bench import (
    AppFactory,
    _CameraFigures,
    _cpu_seconds,
    _fmt_load,
    _free_port,
    _Recorder,
    serving,
)
from fallwatch.types import EventKind

if TYPE_CHECKING:
    from fallwatch.config.server import ServerConfig
    from fallwatch.pipeline.packets import CameraEvent, CameraStats
    from fallwatch.serve.app import FallwatchServer

SAMPLE_EVERY_S = 0.5


@dataclass(frozen=True)
class MixSettings:
    cameras: int
    empty_share: float
    """Share of the cameras showing an empty room, in [0, 1]."""
    fall_cameras: int
    """Cameras looping a fall (taken from the non-empty ones)."""
    analysis_fps: float
    idle_fps: float
    seconds: float
    warmup_s: float
    viewers: int
    """MJPEG viewers, each watching every camera."""


@dataclass
class _Alert:
    t_s: float
    delay_s: float


@dataclass
class _Track:
    """One camera's figures over the measuring window."""

    samples: list[CameraStats] = field(default_factory=list)
    alerts: list[_Alert] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    """Every event's kind, measured or not (a fall camera should raise falls only)."""


class _MixRecorder(_Recorder):
    """The bench's listener: also times each fall event against its clip's down time."""

    def __init__(self, router: Any, clips: dict[str, MixClip]) -> None:
        super().__init__(router, {cid: _CameraFigures() for cid in clips})
        self.clips = clips
        self.tracks = {cid: _Track() for cid in clips}

    def on_packet(self, packet: Any) -> None:
        self.router.on_packet(packet)

    def on_event(self, event: CameraEvent) -> None:
        clip = self.clips.get(event.event.camera_id)
        if clip is not None:
            with self.lock:
                self.tracks[event.event.camera_id].events.append(
                    f"{event.event.kind.value}@{event.event.t_s:.1f}"
                )
        if self.measuring and clip is not None and clip.down_from_s is not None:
            ev = event.event
            if ev.kind is EventKind.FALL:
                down_s = math.floor(ev.t_s / clip.loop_s) * clip.loop_s + clip.down_from_s
                pipeline_s = max(0.0, time.time() - event.captured_at)
                with self.lock:
                    self.tracks[ev.camera_id].alerts.append(
                        _Alert(ev.t_s, ev.t_s - down_s + pipeline_s)
                    )
        self.router.on_event(event)


def plan(
    settings: MixSettings, empty: list[MixClip], walking: list[MixClip], falls: list[MixClip]
) -> dict[str, MixClip]:
    """Camera id -> clip: empty ones first, then the fall cameras, then walking."""
    n_empty = min(settings.cameras, round(settings.cameras * settings.empty_share))
    n_fall = min(settings.fall_cameras, settings.cameras - n_empty)
    kinds = [empty] * n_empty + [falls] * n_fall + [walking] * (settings.cameras - n_empty - n_fall)
    counts: dict[int, int] = {}
    cameras = {}
    for i, pool in enumerate(kinds):
        k = counts[id(pool)] = counts.get(id(pool), -1) + 1
        clip = pool[k % len(pool)]
        cameras[f"{clip.kind.value}-{i + 1}"] = clip
    return cameras


def _config(tmp: str, cameras: dict[str, MixClip], settings: MixSettings) -> ServerConfig:
    from fallwatch.config.loader import parse_server_config

    return parse_server_config(
        {
            "data_dir": tmp,
            "web": {"port": _free_port(), "mjpeg_max_fps": 30},
            "cameras": [
                {
                    "id": cid,
                    "path": str(clip.path),
                    "loop": True,
                    "analysis_fps": settings.analysis_fps,
                    "idle_fps": settings.idle_fps,
                }
                for cid, clip in cameras.items()
            ],
        },
        env={},
    )


def run_mix_bench(settings: MixSettings, make_app: AppFactory) -> int:
    """Run the mix and print its table; 0 (the figures say whether targets were met)."""
    from fallwatch.config.fall import FallConfig

    if settings.cameras < 1 or settings.seconds <= 0 or not 0 <= settings.empty_share <= 1:
        raise ValueError("--cameras must be >= 1, --seconds > 0, --empty-share in [0, 1]")
    if not 0 < settings.idle_fps <= settings.analysis_fps:
        raise ValueError("--idle-fps must be > 0 and <= --analysis-fps")
    base = data_dir()
    if base is None:
        raise DataNotFoundError("--mix needs the shared clips: set FALLWATCH_DATA")
    confirm_s = FallConfig().confirm_s
    with tempfile.TemporaryDirectory(prefix="fallwatch-mix-") as tmp:
        clips_dir = Path(tmp) / "clips"
        clips_dir.mkdir()
        cameras = plan(
            settings,
            empty_clips(base, clips_dir),
            walking_clips(base),
            fall_clips(base, confirm_s, clips_dir),
        )
        ids = list(cameras)
        config = _config(tmp, cameras, settings)
        print(_header(settings, cameras))
        with serving(
            config,
            make_app,
            lambda server: _MixRecorder(server.router, cameras),
            viewers=settings.viewers,
            warmup_s=settings.warmup_s,
            seconds=settings.seconds,
        ) as (server, recorder):
            measured = _measure(server, recorder, ids, settings.seconds)
    _print_report(settings, cameras, recorder.tracks, measured, confirm_s)
    return 0


def _header(settings: MixSettings, cameras: dict[str, MixClip]) -> str:
    counts = {k: sum(c.kind is k for c in cameras.values()) for k in CameraKind}
    mix = ", ".join(f"{n} {k.value}" for k, n in counts.items())
    return (
        f"bench-serve --mix: {len(cameras)} camera(s) ({mix}) at real time, analysis "
        f"{settings.analysis_fps:g} fps, idle {settings.idle_fps:g} fps, {settings.viewers} "
        f"viewer(s); load average now {_fmt_load(load_average_1min())}"
    )


@dataclass
class _MixMeasurement:
    elapsed_s: float
    main_cpu_pct: float
    cpu_pct: dict[str, float | None]
    load_before: float | None
    load_after: float | None


def _measure(
    server: FallwatchServer, recorder: _MixRecorder, ids: list[str], seconds: float
) -> _MixMeasurement:
    load_before = load_average_1min()
    pids = {c: server.supervisor.pid(c) for c in ids}
    cpu0 = {c: _cpu_seconds(p) if p else None for c, p in pids.items()}
    main0 = time.process_time()
    t0 = time.monotonic()
    recorder.measuring = True
    while (now := time.monotonic()) - t0 < seconds:
        for c in ids:
            s = server.hub.stats(c)
            samples = recorder.tracks[c].samples
            if s is not None and (not samples or s.wall_time > samples[-1].wall_time):
                samples.append(s)
        time.sleep(min(SAMPLE_EVERY_S, max(0.0, t0 + seconds - now)))
    recorder.measuring = False
    elapsed = time.monotonic() - t0
    cpu_pct: dict[str, float | None] = {}
    for c, p in pids.items():
        end = _cpu_seconds(p) if p else None
        start = cpu0[c]
        cpu_pct[c] = None if end is None or start is None else (end - start) / elapsed * 100
    main_cpu = (time.process_time() - main0) / elapsed * 100
    return _MixMeasurement(elapsed, main_cpu, cpu_pct, load_before, load_average_1min())


@dataclass(frozen=True)
class CameraFigures:
    full_share: float
    """Share of the measured time at full rate."""
    full_fps: float | None
    idle_fps: float | None
    read_fps: float
    drop_per_s: float


def figures(samples: list[CameraStats]) -> CameraFigures:
    """Rates over consecutive stats pairs that stayed in one mode (a switch is left out)."""
    spent = {"full": [0, 0.0], "idle": [0, 0.0]}
    for a, b in itertools.pairwise(samples):
        if a.rate_mode == b.rate_mode and a.rate_mode in spent:
            spent[a.rate_mode][0] += b.analysed - a.analysed
            spent[a.rate_mode][1] += b.wall_time - a.wall_time
    total = samples[-1].wall_time - samples[0].wall_time if len(samples) > 1 else 0.0
    full_n, full_s = spent["full"]
    idle_n, idle_s = spent["idle"]
    return CameraFigures(
        full_share=full_s / total if total else 0.0,
        full_fps=full_n / full_s if full_s else None,
        idle_fps=idle_n / idle_s if idle_s else None,
        read_fps=(samples[-1].frames - samples[0].frames) / total if total else 0.0,
        drop_per_s=(samples[-1].dropped - samples[0].dropped) / total if total else 0.0,
    )


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _print_report(
    settings: MixSettings,
    cameras: dict[str, MixClip],
    tracks: dict[str, _Track],
    m: _MixMeasurement,
    confirm_s: float,
) -> None:
    header = (
        f"{'camera':<11} {'full %':>6} {'fps full':>8} {'fps idle':>8} {'read/clip fps':>13} "
        f"{'drop/s':>6} {'CPU %':>5} {'alerts':>6} {'delay s':>11}"
    )
    print(header)
    print("-" * len(header))
    target = 0.95 * settings.analysis_fps
    held = alerts_ok = True
    for cid, clip in cameras.items():
        track = tracks[cid]
        if len(track.samples) < 2:
            print(f"{cid:<11} no figures (worker not reporting)")
            held = False
            continue
        f = figures(track.samples)
        delays = [a.delay_s for a in track.alerts]
        delay = f"{min(delays):.1f}-{max(delays):.1f}" if delays else "-"
        print(
            f"{cid:<11} {f.full_share * 100:6.0f} {_fmt(f.full_fps, '8.2f')} "
            f"{_fmt(f.idle_fps, '8.2f')} {f.read_fps:6.1f}/{clip.fps:<6.1f} {f.drop_per_s:6.1f} "
            f"{_fmt(m.cpu_pct[cid], '5.0f')} "
            f"{len(delays) if clip.kind is CameraKind.FALL else '-':>6} {delay:>11}"
        )
        if clip.kind is not CameraKind.EMPTY and (f.full_fps or 0.0) < target:
            held = False
        if clip.kind is CameraKind.FALL:
            # Passes whose down moment and alert deadline both fall inside the window.
            expected = max(0, math.floor((m.elapsed_s - confirm_s - 1.0) / clip.loop_s))
            alerts_ok &= len(delays) >= expected and all(d <= confirm_s + 1.0 for d in delays)
    _print_summary(settings, cameras, tracks, m, held, alerts_ok, confirm_s)


def _print_summary(
    settings: MixSettings,
    cameras: dict[str, MixClip],
    tracks: dict[str, _Track],
    m: _MixMeasurement,
    held: bool,
    alerts_ok: bool,
    confirm_s: float,
) -> None:
    for kind in CameraKind:
        ids = [c for c, clip in cameras.items() if clip.kind is kind and len(tracks[c].samples) > 1]
        cpus = [v for c in ids if (v := m.cpu_pct[c]) is not None]
        if ids:
            shares = [figures(tracks[c].samples).full_share for c in ids]
            print(
                f"{kind.value:<8} {len(ids):3d} camera(s): at full rate {sum(shares) / len(shares) * 100:.0f}% "
                f"of the time, worker CPU {sum(cpus) / max(1, len(cpus)):.0f}% of a core on average"
            )
    for cid, clip in cameras.items():
        if clip.kind is CameraKind.FALL:
            print(
                f"{cid} events since start (kind@clip clock s): {' '.join(tracks[cid].events) or 'none'}"
            )
    print(f"main process (web, events, store): {m.main_cpu_pct:.0f}% CPU")
    cores = os.cpu_count()
    print(
        f"machine: {cores} core(s), {cpu_model()}; load average {_fmt_load(m.load_before)} -> "
        f"{_fmt_load(m.load_after)} (above {cores} means other work competed for the cores)"
    )
    print(
        f"target: every active camera >= {0.95 * settings.analysis_fps:.2f} analysed fps at full "
        f"rate: {'met' if held else 'NOT met'}; every fall alerted within confirm_s + 1 s "
        f"({confirm_s + 1:g} s), one per pass: {'met' if alerts_ok else 'NOT met'}"
    )
