"""`fallwatch analyze VIDEO`: annotated video and a JSON event report for one file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from fallwatch import __version__
from fallwatch.commands import UsageError, check_output_file
from fallwatch.config.fall import FallConfig, ZoneConfig
from fallwatch.detect.presets import DETECTOR_PRESETS, preset_detector_config
from fallwatch.detect.registry import build_detector
from fallwatch.pipeline.analyzer import Analyzer
from fallwatch.pipeline.annotator import Annotator
from fallwatch.pipeline.video_analysis import DownEpisode, analyze_video
from fallwatch.sources.sampling import DEFAULT_ANALYSIS_FPS
from fallwatch.sources.video import probe_video
from fallwatch.types import FallEvent

FALL_DEFAULTS = FallConfig()
"""The defaults the help text quotes, from the config itself so they cannot drift."""


def load_zones(path: Path) -> list[ZoneConfig]:
    """Zones from a YAML or JSON file: a list of zones, or `{zones: [...]}`.

    Each zone is `{name: bed, polygon_xy: [[x, y], ...]}` in frame pixels.
    """
    if not path.is_file():
        raise ValueError(f"{path}: zones file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML/JSON: {exc}") from exc
    if isinstance(data, dict) and "zones" in data:
        data = data["zones"]
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of zones or {{zones: [...]}}")
    try:
        return TypeAdapter(list[ZoneConfig]).validate_python(data)
    except ValidationError as exc:
        errs = "; ".join(
            f"zone {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(f"{path}: invalid zones: {errs}") from exc


def event_to_dict(event: FallEvent) -> dict[str, Any]:
    return {
        "kind": event.kind.value,
        "camera_id": event.camera_id,
        "track_id": event.track_id,
        "t_s": round(event.t_s, 3),
        "down_from_s": round(event.down_from_s, 3),
        "fall_seen_s": None if event.fall_seen_s is None else round(event.fall_seen_s, 3),
        "down_for_s": round(event.down_for_s, 3),
        "xyxy": [round(v, 1) for v in event.xyxy],
        "down_score": round(event.down_score, 3),
    }


def episode_to_dict(episode: DownEpisode) -> dict[str, Any]:
    return {
        "track_id": episode.track_id,
        "start_s": round(episode.start_s, 3),
        "down_for_s": round(episode.down_for_s, 3),
        "alerted": episode.alerted,
        "ignored": episode.ignored,
    }


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "analyze", help="Analyze a video file: annotated video and JSON event report."
    )
    p.add_argument("video", type=Path, help="Video file to analyze.")
    p.add_argument(
        "-o", "--output", type=Path, help="Annotated video path (default: VIDEO.annotated.mp4)."
    )
    p.add_argument(
        "--report",
        type=Path,
        help="JSON event report path (default: next to --output, else VIDEO.events.json).",
    )
    p.add_argument("--no-video", action="store_true", help="Skip writing the annotated video.")
    p.add_argument(
        "--confirm-s",
        type=float,
        default=None,
        help=f"Seconds down after a fall before the alert (default {FALL_DEFAULTS.confirm_s:g}).",
    )
    p.add_argument(
        "--found-down-s",
        type=float,
        default=None,
        help="Seconds lying with no fall seen before the alert "
        f"(default {FALL_DEFAULTS.found_down_s:g}).",
    )
    p.add_argument(
        "--zones", type=Path, help="YAML/JSON file of ignore zones (polygons in pixels)."
    )
    p.add_argument(
        "--detector", choices=sorted(DETECTOR_PRESETS), default="pose", help="Detector plugin."
    )
    p.add_argument(
        "--analysis-fps",
        type=float,
        default=DEFAULT_ANALYSIS_FPS,
        help=f"Frames a second to analyse (default {DEFAULT_ANALYSIS_FPS:g}; 0 = every frame). "
        "Every frame is still written, with the latest analysis drawn.",
    )
    p.add_argument("--privacy", action="store_true", help="Draw skeletons on a blank background.")
    p.add_argument("--no-progress", action="store_true", help="No progress bar.")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not args.analysis_fps >= 0:  # NaN too
        raise UsageError(f"--analysis-fps must be >= 0, got {args.analysis_fps}")
    info = probe_video(args.video)
    fall_config = _fall_config(args)
    out_video = None if args.no_video else (args.output or args.video.with_suffix(".annotated.mp4"))
    # Next to what was asked for: a clip in a read-only or shared data folder must not
    # get files written beside it when the output goes elsewhere.
    report_path = args.report or (args.output or args.video).with_suffix(".events.json")
    check_output_file(out_video, "--output")
    check_output_file(report_path, "--report")
    detector = build_detector(preset_detector_config(args.detector))
    analyzer = Analyzer(detector, fall_config, camera_id=args.video.stem)
    annotator = Annotator(fall_config.zones, fall_config.min_keypoint_score, privacy=args.privacy)

    # A bar redrawn into a log file or pipe is hundreds of lines: event lines only there.
    bar = _progress(info.frame_count or None, disabled=args.no_progress or not sys.stderr.isatty())

    def on_event(e: FallEvent) -> None:
        bar.write(
            f"{e.t_s:7.2f}s  {e.kind.value:<10} track {e.track_id} down for {e.down_for_s:.1f}s"
        )

    try:
        outcome = analyze_video(
            args.video,
            analyzer,
            annotator,
            out_video,
            args.analysis_fps,
            on_event=on_event,
            on_frame=lambda: bar.update(1),
        )
    finally:
        bar.close()
    events, frames, elapsed = outcome.events, outcome.frames, outcome.wall_s
    duration_s = outcome.duration_s
    report = {
        "fallwatch_version": __version__,
        "video": str(args.video),
        "annotated_video": None if out_video is None else str(out_video),
        "fps": info.fps,
        "frames": frames,
        "duration_s": round(duration_s, 3),
        "settings": {
            "detector": args.detector,
            "analysis_fps": args.analysis_fps,
            "fall": fall_config.model_dump(mode="json"),
        },
        "analysed_frames": outcome.analysed_frames,
        "processing_s": round(elapsed, 3),
        "x_realtime": round(duration_s / elapsed, 2) if elapsed > 0 else None,
        "events": [event_to_dict(e) for e in events],
        "down_episodes": [episode_to_dict(d) for d in outcome.down_episodes],
    }
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report, indent=2))
    alerts = [e for e in events if e.kind.value != "recovered"]
    print(
        f"{args.video}: {frames} frames, {duration_s:.1f} s in {elapsed:.1f} s "
        f"({report['x_realtime']}x real time); {len(alerts)} alert(s); report {report_path}"
        + (f"; video {out_video}" if out_video else "")
    )
    for line in unalerted_lines(outcome.down_episodes, fall_config):
        print(line)
    if not alerts and outcome.max_down_for_s > 0:
        print(_too_short_hint(outcome.max_down_for_s, fall_config), file=sys.stderr)
    return 0


def _fall_config(args: argparse.Namespace) -> FallConfig:
    fall_kwargs: dict[str, Any] = {}
    if args.confirm_s is not None:
        fall_kwargs["confirm_s"] = args.confirm_s
    if args.found_down_s is not None:
        fall_kwargs["found_down_s"] = args.found_down_s
    if args.zones is not None:
        fall_kwargs["zones"] = load_zones(args.zones)
    return FallConfig(**fall_kwargs)


MAX_EPISODE_LINES = 10
"""A long clip's many short stays on the ground are all in the report; a screenful here."""


def unalerted_lines(episodes: list[DownEpisode], fall: FallConfig) -> list[str]:
    """Says why each time someone was down raised no alert: down for less than
    `confirm_s`, inside an ignore zone, or short of the other conditions."""
    quiet = [d for d in episodes if not d.alerted]
    if not quiet:
        return []
    short = sum(d.down_for_s < fall.confirm_s for d in quiet)
    lines = [
        f"{len(quiet)} time(s) someone was down without an alert"
        + (f", {short} for less than confirm_s ({fall.confirm_s:g} s)" if short else "")
        + ":"
    ]
    for d in quiet[:MAX_EPISODE_LINES]:
        lines.append(
            f"  track {d.track_id}: down at {d.start_s:.2f} s for {d.down_for_s:.1f} s, "
            + _why_no_alert(d, fall)
        )
    if len(quiet) > MAX_EPISODE_LINES:
        lines.append(f"  and {len(quiet) - MAX_EPISODE_LINES} more (down_episodes in the report)")
    return lines


def _why_no_alert(episode: DownEpisode, fall: FallConfig) -> str:
    if episode.ignored:
        return "in an ignore zone or below the minimum size"
    if episode.down_for_s < fall.confirm_s:
        return f"below confirm_s {fall.confirm_s:g} s"
    if episode.down_for_s < fall.found_down_s:
        # Past confirm_s yet no alert: the rules saw no fall just before, or the person
        # was not down for enough of the window.
        return (
            f"below found_down_s {fall.found_down_s:g} s with no fall seen, "
            "or not down for enough of confirm_s"
        )
    return "not down for enough of the window"


def _too_short_hint(max_down_for_s: float, fall: FallConfig) -> str:
    """Why a clip with someone down gave no alert: the confirm times, and what to try."""
    return (
        f"hint: someone was down for up to {max_down_for_s:.1f} s, but an alert needs "
        f"{fall.confirm_s:g} s down after a fall (--confirm-s) or {fall.found_down_s:g} s "
        "lying with no fall seen (--found-down-s); for a short clip try --confirm-s "
        f"{max(1.0, round(max_down_for_s * 0.6, 1)):g}"
    )


class _Lines:
    """Progress without a bar: event lines only (no tqdm, or --no-progress)."""

    def write(self, line: str) -> None:
        print(line, file=sys.stderr)

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int | None, *, disabled: bool) -> Any:
    """A tqdm bar on stderr when the `eval` extra brought tqdm, else plain event lines."""
    if disabled:
        return _Lines()
    try:
        from tqdm import tqdm
    except ImportError:
        return _Lines()
    return tqdm(total=total, unit="frame", file=sys.stderr)
