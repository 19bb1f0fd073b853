"""`fallwatch bench [VIDEO]`: per-stage time, end-to-end fps and peak memory, with targets.

Two modes:
- frame bench (default): one clip (the shared 640x480 UP-Fall clip when no VIDEO is
  given) through decode -> preprocess -> inference -> postprocess -> tracking -> rules
  -> annotate -> JPEG encode, one thread of control, mean / p50 / p95 ms per stage.
- `--analyze-manifest [MANIFEST]`: the `fallwatch analyze` path (annotated video written)
  over the manifest's clips, times faster than real time per clip and in total.
- `--zoom compare`: the frame bench twice on the same clip, zoomed second look off then
  on, with what the zoom adds to the chain's CPU time (take a clip with small people:
  the zoom only looks at small people who may be falling, down or lost).

Figures taken while other work shares the CPU are inflated; the machine's load average
is printed with them so a busy run can be told apart.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fallwatch import __version__
from fallwatch.bench.analyze_bench import ANALYZE_STAGES, AnalyzeBench, ManifestSpeed
from fallwatch.bench.data import default_clip, default_manifest
from fallwatch.bench.frame_bench import (
    SPLIT_ONLY_STAGES,
    STAGES,
    ZOOM_ONLY_STAGES,
    FrameBench,
    FrameBenchReport,
)
from fallwatch.bench.machine import MachineInfo, describe_machine, peak_rss_mb, render_machine
from fallwatch.bench.targets import (
    Target,
    Verdict,
    analyze_targets,
    frame_targets,
    zoom_targets,
)
from fallwatch.bench.zoom_compare import (
    ZoomCost,
    render_zoom_effect,
    zoom_effect,
    zoom_run_rows,
)
from fallwatch.commands import check_output_file
from fallwatch.config import detector as det
from fallwatch.config.fall import FallConfig
from fallwatch.detect.base import Detector
from fallwatch.detect.presets import DETECTOR_PRESETS, preset_detector_config
from fallwatch.detect.registry import build_detector
from fallwatch.detect.zoom import zoom_pass_for
from fallwatch.sources.sampling import DEFAULT_ANALYSIS_FPS
from fallwatch.sources.video import probe_video

DEFAULT_THREADS = 2
DEFAULT_WARMUP_FRAMES = 10
EXIT_TARGET_MISSED = 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "bench",
        help="Per-stage timing, end-to-end fps and peak memory on a clip, checked against targets.",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    p.add_argument(
        "video",
        type=Path,
        nargs="?",
        help="Video to time (default: a 640x480 clip of the shared data).",
    )
    p.add_argument(
        "--frames", type=int, help="Frames to measure (default: the whole clip; more loops it)."
    )
    p.add_argument(
        "--warmup",
        type=int,
        default=DEFAULT_WARMUP_FRAMES,
        help=f"Unmeasured frames first (default {DEFAULT_WARMUP_FRAMES}).",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=DEFAULT_THREADS,
        help=f"Model CPU threads (default {DEFAULT_THREADS}).",
    )
    p.add_argument(
        "--input-wh",
        help="Model input WxH, e.g. 256x192 (pose and hybrid: the pose model; yolo: the YOLO model).",
    )
    p.add_argument(
        "--detector",
        choices=DETECTOR_PRESETS,
        default="pose",
        help="Detector plugin (default pose).",
    )
    p.add_argument("--json", type=Path, help="Write the figures to this JSON file.")
    p.add_argument(
        "--analyze-manifest",
        nargs="?",
        const="",
        metavar="MANIFEST",
        help="Time the analyze path (video written) over the manifest's clips instead "
        "(default manifest: the shared data's).",
    )
    p.add_argument("--limit", type=int, help="With --analyze-manifest: only the first N clips.")
    p.add_argument(
        "--analysis-fps",
        type=float,
        default=DEFAULT_ANALYSIS_FPS,
        help=f"With --analyze-manifest: frames a second analysed, as `fallwatch analyze` "
        f"(default {DEFAULT_ANALYSIS_FPS:g}; 0 = every frame).",
    )
    p.add_argument(
        "--zoom",
        choices=("on", "off", "compare"),
        default="on",
        help="The zoomed second look at small candidates (pose and hybrid): on as configured "
        "by default, off, or compare: the frame bench with it off then on, and what it adds "
        "to the CPU time (default on).",
    )
    p.add_argument("--strict", action="store_true", help="Exit 1 when a target is missed.")
    p.set_defaults(handler=run)


def parse_wh(text: str) -> tuple[int, int]:
    """`"256x192"` -> (256, 192)."""
    w, sep, h = text.lower().partition("x")
    if not sep or not w.strip().isdigit() or not h.strip().isdigit():
        raise ValueError(f"--input-wh must be WIDTHxHEIGHT like 256x192, got {text!r}")
    return int(w), int(h)


def bench_detector_config(
    name: str, threads: int, input_wh: tuple[int, int] | None
) -> det.PoseDetectorConfig | det.YoloDetectorConfig | det.HybridDetectorConfig:
    """The preset `name` with the bench's thread count (every model) and input size."""
    if not 1 <= threads <= 64:
        raise ValueError(f"--threads must be between 1 and 64, got {threads}")
    base = preset_detector_config(name)
    data: dict[str, Any] = base.model_dump()
    if isinstance(base, det.HybridDetectorConfig):
        data["pose"]["num_threads"] = threads
        data["yolo"]["num_threads"] = threads
        if input_wh is not None:
            data["pose"]["input_wh"] = input_wh
    else:
        data["num_threads"] = threads
        if input_wh is not None:
            data["input_wh"] = input_wh
    # Re-validate so a bad size fails with the config's own message.
    return type(base).model_validate(data)


def _load_detector(args: argparse.Namespace) -> tuple[Detector, Any, float]:
    input_wh = parse_wh(args.input_wh) if args.input_wh else None
    config = bench_detector_config(args.detector, args.threads, input_wh)
    t0 = time.perf_counter()
    detector = build_detector(config)
    return detector, config, time.perf_counter() - t0


def run(args: argparse.Namespace) -> int:
    check_output_file(args.json, "--json")
    if args.analysis_fps is not None and not args.analysis_fps >= 0:  # NaN too
        raise ValueError(f"--analysis-fps must be >= 0, got {args.analysis_fps}")
    if args.analyze_manifest is not None:
        if args.video is not None:
            raise ValueError("give either VIDEO or --analyze-manifest, not both")
        if args.frames is not None:
            raise ValueError("--frames applies to the frame bench, not --analyze-manifest")
        if args.zoom == "compare":
            raise ValueError("--zoom compare applies to the frame bench, not --analyze-manifest")
        return run_analyze_manifest(args)
    if args.limit is not None:
        raise ValueError("--limit applies to --analyze-manifest")
    if args.zoom == "compare":
        return run_zoom_compare(args)
    return run_frame_bench(args)


# ---------------------------------------------------------------- frame bench
def run_frame_bench(args: argparse.Namespace) -> int:
    if args.frames is not None and args.frames < 1:
        raise ValueError(f"--frames must be >= 1, got {args.frames}")
    if args.warmup < 0:
        raise ValueError(f"--warmup must be >= 0, got {args.warmup}")
    video = args.video if args.video is not None else default_clip()
    probe_video(video)  # a bad file fails here, before the model loads
    machine = describe_machine()
    detector, config, load_s = _load_detector(args)
    zoom = zoom_pass_for(detector) if args.zoom == "on" else None
    report = FrameBench(detector, zoom=zoom).run(video, frames=args.frames, warmup=args.warmup)
    machine = machine.with_end_load()
    peak_mb = peak_rss_mb()
    targets = frame_targets(report.fps, peak_mb, (report.video.width, report.video.height))
    print(render_frame_report(report, args, config, load_s, peak_mb, machine, targets))
    if args.json:
        figures = {
            "fallwatch_version": __version__,
            "mode": "frames",
            "detector": args.detector,
            "detector_config": config.model_dump(mode="json"),
            "threads": args.threads,
            "zoom": zoom is not None,
            "model_load_s": round(load_s, 3),
            **report.as_dict(),
            "peak_rss_mb": round(peak_mb, 1),
            "machine": machine.as_dict(),
            "targets": [t.as_dict() for t in targets],
        }
        _write_json(args.json, figures)
    return _exit_code(targets, args.strict)


def _input_wh_text(config: Any) -> str:
    wh = getattr(config, "input_wh", None)
    if wh is None and hasattr(config, "pose"):
        wh = config.pose.input_wh
    return "model size" if wh is None else f"{wh[0]}x{wh[1]}"


def render_frame_report(
    report: FrameBenchReport,
    args: argparse.Namespace,
    config: Any,
    load_s: float,
    peak_mb: float,
    machine: MachineInfo,
    targets: Sequence[Target],
) -> str:
    v = report.video
    lines = [
        f"fallwatch bench: {v.path} ({v.width}x{v.height}, {v.fps:g} fps)",
        (
            f"detector {args.detector} at {_input_wh_text(config)} on {args.threads} thread(s), "
            f"loaded in {load_s:.2f} s; {report.frames} frames measured after {report.warmup_frames} warm-up"
        ),
        "",
        f"{'stage':<14}{'mean ms':>10}{'p50 ms':>10}{'p95 ms':>10}",
    ]
    for name in STAGES:
        s = report.stages.get(name)
        if s is None:
            note = (
                "(inside inference)"
                if name in SPLIT_ONLY_STAGES
                else "(zoom off)"
                if name in ZOOM_ONLY_STAGES
                else "(not measured)"
            )
            lines.append(f"{name:<14}{note:>30}")
            continue
        lines.append(f"{name:<14}{s.mean_ms:>10.2f}{s.p50_ms:>10.2f}{s.p95_ms:>10.2f}")
    lines += [
        f"{'other':<14}{report.other_ms_per_frame:>10.2f}",
        "",
        (
            f"end-to-end    {report.ms_per_frame:.2f} ms/frame = {report.fps:.1f} fps = "
            f"{report.x_realtime:.2f}x real time (clip plays at {v.fps:g} fps)"
        ),
        (
            f"CPU           {report.cpu_ms_per_frame:.2f} ms/frame = {report.cpu_percent:.0f}% of one core "
            "(process CPU time, all threads)"
        ),
        f"zoom          {report.zoom_crops} crop(s) on {report.zoomed_frames} of {report.frames} frames"
        if "zoom" in report.stages
        else "zoom          off",
        f"peak memory   {peak_mb:.1f} MB (process peak RSS, model load included)",
        "",
        render_machine(machine),
        "",
        "targets:",
        *(f"  {t.describe()}" for t in targets),
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------- zoom on vs off
def run_zoom_compare(args: argparse.Namespace) -> int:
    """The frame bench with the zoom off, then on, on one clip; prints both and the
    CPU the zoom adds, with the load average beside each."""
    if args.frames is not None and args.frames < 1:
        raise ValueError(f"--frames must be >= 1, got {args.frames}")
    if args.detector == "yolo":
        # Refused before loading: a box model has no skeleton to zoom on.
        raise ValueError("--zoom compare: detector yolo has no zoomed look (pose and hybrid have)")
    video = args.video if args.video is not None else default_clip()
    probe_video(video)
    detector, config, load_s = _load_detector(args)
    zoom = zoom_pass_for(detector)
    if zoom is None:
        raise ValueError(
            f"--zoom compare: detector {args.detector} has no zoomed look (pose and hybrid have)"
        )
    runs: dict[str, tuple[FrameBenchReport, MachineInfo]] = {}
    for name, zp in (("off", None), ("on", zoom)):
        machine = describe_machine()
        report = FrameBench(detector, zoom=zp).run(video, frames=args.frames, warmup=args.warmup)
        runs[name] = (report, machine.with_end_load())
    cost = ZoomCost.of(runs["off"][0], runs["on"][0])
    on = runs["on"][0]
    targets = zoom_targets(cost.added_cpu_pct, on.fps, (on.video.width, on.video.height))
    effect = zoom_effect(runs["off"][0], on)
    print(render_zoom_compare(args, config, load_s, runs, cost, effect, targets))
    if args.json:
        _write_json(
            args.json,
            {
                "fallwatch_version": __version__,
                "mode": "zoom-compare",
                "detector": args.detector,
                "detector_config": config.model_dump(mode="json"),
                "threads": args.threads,
                "runs": {
                    name: {**r.as_dict(), "machine": m.as_dict()} for name, (r, m) in runs.items()
                },
                "zoom_added_cpu_percent": round(cost.added_cpu_pct, 2),
                "between_runs_cpu_percent": round(cost.between_cpu_pct, 2),
                "zoom_effect": effect,
                "zoom_added_wall_percent": round(cost.added_wall_pct, 2),
                "targets": [t.as_dict() for t in targets],
            },
        )
    return _exit_code(targets, args.strict)


def render_zoom_compare(
    args: argparse.Namespace,
    config: Any,
    load_s: float,
    runs: dict[str, tuple[FrameBenchReport, MachineInfo]],
    cost: ZoomCost,
    effect: dict[str, Any],
    targets: Sequence[Target],
) -> str:
    on = runs["on"][0]
    v = on.video
    lines = [
        f"fallwatch bench --zoom compare: {v.path} ({v.width}x{v.height}, {v.fps:g} fps)",
        (
            f"detector {args.detector} at {_input_wh_text(config)} on {args.threads} thread(s), "
            f"loaded in {load_s:.2f} s; {on.frames} frames measured after {on.warmup_frames} "
            "warm-up, every frame analysed"
        ),
        "",
        *zoom_run_rows(runs),
        "",
        (
            f"zoom adds {cost.added_cpu_pct:.1f}% CPU time ({on.zoom_cpu_s * 1000 / on.frames:.2f} ms/frame "
            "in the zoom stage over the rest of the chain, same run)"
        ),
        (
            f"between the two runs: {cost.between_cpu_pct:+.1f}% CPU time, {cost.added_wall_pct:+.1f}% wall time "
            "per frame (includes the load's drift)"
        ),
        "",
        "what the zoom changed (same frames, zoom off vs on; not an accuracy figure):",
        *(f"  {line}" for line in render_zoom_effect(effect)),
        "",
        render_machine(runs["on"][1]),
        "",
        "targets:",
        *(f"  {t.describe()}" for t in targets),
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------- analyze path
def run_analyze_manifest(args: argparse.Namespace) -> int:
    # Imported here so `fallwatch bench` works even where the evaluation package is not.
    from fallwatch.evaluation.manifest import load_manifest

    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be >= 1, got {args.limit}")
    manifest_path = Path(args.analyze_manifest) if args.analyze_manifest else default_manifest()
    manifest = load_manifest(manifest_path)
    clips = manifest.videos[: args.limit] if args.limit else manifest.videos
    if not clips:
        raise ValueError(f"{manifest_path}: no clips to run")
    missing = [c.file for c in clips if not manifest.clip_path(c).is_file()]
    if missing:
        raise ValueError(f"{manifest_path}: {len(missing)} clip(s) missing, first {missing[0]}")
    machine = describe_machine()
    detector, config, load_s = _load_detector(args)
    bench = AnalyzeBench(detector, FallConfig(), analysis_fps=args.analysis_fps)
    print(
        f"fallwatch bench --analyze-manifest {manifest_path}: {len(clips)} clip(s), detector "
        f"{args.detector} at {_input_wh_text(config)} on {args.threads} thread(s), loaded in {load_s:.2f} s, "
        f"analysis fps {args.analysis_fps:g}"
    )
    print(f"{'clip':<52}{'frames':>7}{'video s':>9}{'wall s':>9}{'fps':>8}{'x real':>8}")
    speeds = []
    for clip in clips:
        speed = bench.run(manifest.clip_path(clip), name=clip.file)
        speeds.append(speed)
        print(
            f"{clip.file[-52:]:<52}{speed.frames:>7}{speed.duration_s:>9.1f}{speed.wall_s:>9.1f}"
            f"{speed.fps:>8.1f}{speed.x_realtime:>8.2f}",
            flush=True,
        )
    total = ManifestSpeed(speeds)
    machine = machine.with_end_load()
    targets = analyze_targets(total.x_realtime)
    per_stage = total.stage_ms_per_frame()
    print(
        f"{'total':<52}{total.frames:>7}{total.duration_s:>9.1f}{total.wall_s:>9.1f}"
        f"{total.fps:>8.1f}{total.x_realtime:>8.2f}"
    )
    print("ms/frame: " + ", ".join(f"{s} {per_stage[s]:.2f}" for s in ANALYZE_STAGES))
    print()
    print(render_machine(machine))
    print()
    print("targets:")
    for t in targets:
        print(f"  {t.describe()}")
    if args.json:
        _write_json(
            args.json,
            {
                "fallwatch_version": __version__,
                "mode": "analyze-manifest",
                "manifest": str(manifest_path),
                "detector": args.detector,
                "detector_config": config.model_dump(mode="json"),
                "threads": args.threads,
                "model_load_s": round(load_s, 3),
                **total.as_dict(),
                "peak_rss_mb": round(peak_rss_mb(), 1),
                "machine": machine.as_dict(),
                "targets": [t.as_dict() for t in targets],
            },
        )
    return _exit_code(targets, args.strict)


# ---------------------------------------------------------------- shared
def _write_json(path: Path, figures: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"figures written to {path}")


def _exit_code(targets: Sequence[Target], strict: bool) -> int:
    missed = any(t.verdict == Verdict.FAIL for t in targets)
    return EXIT_TARGET_MISSED if strict and missed else 0
