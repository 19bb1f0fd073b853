"""`fallwatch eval MANIFEST [MANIFEST...]`: score the whole pipeline on labelled clips and stills.

Several manifests are scored as one set: each clip is named `<manifest label>/<file>`
(the label is the manifest's folder name), and figures are given per source (the clip's
`source.repo`, else its manifest's label) as well as in total. `--leave-one-source-out`
adds figures for each source from rule thresholds fitted on the other sources only.

Exit codes: 0 when every selected clip and still was analysed; 1 when some could not be
(a missing or undecodable file): the others are still scored and reported, the failures
are listed at the end and the totals leave them out, but the figures are not comparable
with a complete run, so scripts must notice; 2 for bad input (a missing or malformed
manifest, bad options, a detector that cannot be built), as a one-line message.
"""

from __future__ import annotations

import argparse
import fnmatch
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import fallwatch
from fallwatch.commands import UsageError, check_output_dir, check_output_file
from fallwatch.config.fall import FallConfig
from fallwatch.detect.base import Detector
from fallwatch.detect.registry import build_detector
from fallwatch.evaluation.loso import (
    FITTERS,
    ClipRunInput,
    Fitter,
    LosoResult,
    leave_one_source_out,
    render_loso_text,
)
from fallwatch.evaluation.manifest import (
    ClipRef,
    SourcedManifest,
    StillItem,
    load_manifests,
)
from fallwatch.evaluation.plots import plot_clip, plot_name, plots_unavailable
from fallwatch.evaluation.render import clip_line, render_text, write_markdown
from fallwatch.evaluation.report import ClipResult, EvalReport, write_json
from fallwatch.evaluation.runner import ClipRunner, PosesCache
from fallwatch.evaluation.scoring import WINDOW_TOLERANCE_S, score_clip
from fallwatch.evaluation.stills import StillsEvaluator, StillsResult
from fallwatch.sources.sampling import DEFAULT_ANALYSIS_FPS

log = logging.getLogger(__name__)

EVAL_CONFIRM_S = 2.0
"""The dev clips are 3-8 s long with the person down for 2-6 s, so the product's 10 s
confirm time could never fire on them; 2 s tests the same rules on the time they have."""

EXIT_OK = 0
EXIT_INCOMPLETE = 1

DETECTORS = ("pose", "yolo", "hybrid")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "eval",
        help="Score the pipeline on a labelled manifest of clips and stills.",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "manifests",
        type=Path,
        nargs="+",
        metavar="MANIFEST",
        help="manifest.json (clips in 'videos' or 'items'); several are scored as one set.",
    )
    _add_pipeline_options(p)
    _add_output_options(p)
    _add_selection_options(p)
    p.set_defaults(handler=handle)


def _add_pipeline_options(p: argparse.ArgumentParser) -> None:
    """How the clips are analysed: rule times, detector, analysis rate, zoom."""
    p.add_argument(
        "--confirm-s",
        type=float,
        default=EVAL_CONFIRM_S,
        help=f"Seconds down after a fall before the alert (default {EVAL_CONFIRM_S}, not the "
        f"product's {FallConfig.model_fields['confirm_s'].default}: the clips are short).",
    )
    p.add_argument(
        "--found-down-s",
        type=float,
        default=None,
        help="Seconds lying with no fall seen before the alert (default: FallConfig's, "
        f"{FallConfig.model_fields['found_down_s'].default}).",
    )
    p.add_argument("--detector", choices=DETECTORS, default="pose", help="Detector (default pose).")
    p.add_argument(
        "--analysis-fps",
        type=float,
        default=DEFAULT_ANALYSIS_FPS,
        help=f"Frames a second analysed, as `fallwatch analyze` does (default "
        f"{DEFAULT_ANALYSIS_FPS:g}; 0 = every frame).",
    )
    p.add_argument(
        "--zoom",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="The pose model's second look at small people who may be falling, down or "
        "lost (default: on, as the detector config says). Cached replays with the zoom "
        "decode the frames again.",
    )


def _add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--report", type=Path, help="Write the JSON report here.")
    p.add_argument(
        "--markdown",
        type=Path,
        help="Write a Markdown report here (default: next to --report, .md).",
    )
    p.add_argument("--plots", type=Path, metavar="DIR", help="Write a PNG timeline per clip here.")


def _add_selection_options(p: argparse.ArgumentParser) -> None:
    """Which clips and stills, the detections cache, and leave-one-source-out."""
    p.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="Only the first N selected clips (and stills).",
    )
    p.add_argument(
        "--only",
        action="append",
        metavar="GLOB",
        help="Only clips (and stills) whose path as written in the manifest, or whose "
        "name <manifest label>/<path>, matches; repeatable.",
    )
    p.add_argument(
        "--cache-dir",
        type=Path,
        metavar="DIR",
        help="Cache raw detections per clip and detector config; later runs replay them "
        "through fresh rules without running the detector. --detector hybrid also replays "
        "the pose and yolo entries of the same directory through the hybrid detector.",
    )
    p.add_argument(
        "--images",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Also judge the manifest's labelled stills (default: yes).",
    )
    p.add_argument(
        "--leave-one-source-out",
        action="store_true",
        help="Also give each source's figures from settings fitted on the other sources "
        "only (and the in-sample figure beside them); replays cached detections, so needs "
        "--cache-dir (clips missing from it are analysed in the first pass and cached).",
    )
    p.add_argument(
        "--fitter",
        choices=sorted(FITTERS),
        default="rules",
        help="What --leave-one-source-out fits (default rules: down_enter and confirm_ratio "
        "over a grid, confirm_s as given).",
    )


def detector_config(name: str, zoom: bool | None = None) -> Any:
    """The detector config for `--detector`; YOLO variants use the packaged `hfd` model.

    `zoom` overrides the pose model's zoom pass (None keeps the config's default)."""
    from fallwatch.config import detector as cfg

    pose = cfg.PoseDetectorConfig()
    if zoom is not None:
        pose = pose.model_copy(update={"zoom": pose.zoom.model_copy(update={"enabled": zoom})})
    if name == "pose":
        return pose
    yolo_cls = getattr(cfg, "YoloDetectorConfig", None)
    hybrid_cls = getattr(cfg, "HybridDetectorConfig", None)
    if name == "yolo" and yolo_cls is not None:
        return yolo_cls(format="hfd")
    if name == "hybrid" and hybrid_cls is not None and yolo_cls is not None:
        return hybrid_cls(pose=pose, yolo=yolo_cls(format="hfd"))
    raise UsageError(f"--detector {name}: this build has no {name} detector config; use pose")


def _build_detector(name: str, config: Any) -> Detector:
    try:
        return build_detector(config)
    except ValueError as exc:
        raise UsageError(f"--detector {name}: {exc}") from None
    except (ImportError, RuntimeError, OSError) as exc:
        # A missing optional model package or weights: say which, without a traceback.
        raise UsageError(f"--detector {name} cannot be built: {exc}") from None


def _matches(name: str, patterns: list[str] | None) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(name, p) for p in patterns)


def select(
    manifests: list[SourcedManifest],
    only: list[str] | None,
    limit: int | None,
    images: bool,
) -> tuple[list[ClipRef], list[tuple[SourcedManifest, StillItem]]]:
    """Clips and stills of all manifests, in order; `--only` matches either name."""
    clips: list[ClipRef] = []
    stills: list[tuple[SourcedManifest, StillItem]] = []
    for owner in manifests:
        m = owner.manifest
        for i, clip in enumerate(m.videos):
            ref = ClipRef(owner, i, clip)
            if _matches(clip.file, only) or (only and _matches(ref.name, only)):
                clips.append(ref)
        if images and m.images is not None:
            for item in m.images.items:
                name = m.still_name(item)
                if _matches(name, only) or (only and _matches(f"{owner.label}/{name}", only)):
                    stills.append((owner, item))
    if limit is not None:
        clips, stills = clips[:limit], stills[:limit]
    return clips, stills


def _evaluate_clip(runner: ClipRunner, ref: ClipRef) -> ClipResult:
    clip = ref.clip
    try:
        run = runner.run(ref.path)
    except Exception as exc:
        if not isinstance(exc, ValueError | OSError):
            # Not bad input but a bug: keep the traceback in the log for whoever tunes.
            log.exception("clip %s failed", ref.name)
        return ClipResult(
            ref.index,
            clip,
            error=f"{type(exc).__name__}: {exc}",
            name=ref.name,
            source=ref.source,
            manifest=ref.owner.label,
        )
    duration_s = clip.duration_s if clip.duration_s is not None else run.duration_s
    outcome = score_clip(run.alerts_s, clip.label, duration_s, uncertain=clip.uncertain)
    return ClipResult(
        ref.index,
        clip,
        run=run,
        outcome=outcome,
        name=ref.name,
        source=ref.source,
        manifest=ref.owner.label,
    )


def _judge_stills(
    evaluator: StillsEvaluator, stills: list[tuple[SourcedManifest, StillItem]]
) -> StillsResult:
    """Stills of every manifest as one result, each named `<manifest label>/<image>`."""
    outcomes = []
    wall_s = 0.0
    cached = 0
    for owner in dict.fromkeys(o for o, _ in stills):
        part = evaluator.evaluate(owner.manifest, [s for o, s in stills if o is owner])
        outcomes += [replace(o, name=f"{owner.label}/{o.name}") for o in part.outcomes]
        wall_s += part.wall_s
        cached += part.cached
    return StillsResult(outcomes, evaluator.down_enter, wall_s, cached)


def _leave_one_source_out(
    results: list[ClipResult], cache: PosesCache, fitter: Fitter
) -> LosoResult | None:
    """LOSO over the clips the first pass scored, their detections loaded once from cache."""
    inputs = []
    for r in results:
        if r.run is None:
            continue  # failed in the first pass: already listed, left out here too
        detections = cache.load(r.run.path)
        if detections is None:
            log.warning("%s: not in the cache after the first pass; left out of LOSO", r.name)
            continue
        inputs.append(ClipRunInput(r.name, r.source, r.clip, r.run.path, detections))
    n_sources = len({c.source for c in inputs})
    print(
        f"\nLeave-one-source-out: {len(inputs)} clip(s) from {n_sources} source(s), "
        f"fitter {fitter.name!r}, replayed from cache...",
        flush=True,
    )
    if n_sources < 2:
        print("  fewer than 2 sources left after failures: no LOSO figures", flush=True)
        return None
    started = time.perf_counter()
    result = leave_one_source_out(inputs, fitter)
    print(f"  {len(result.folds)} folds in {time.perf_counter() - started:.1f} s", flush=True)
    return result


def _fall_config(args: argparse.Namespace) -> FallConfig:
    fall_kwargs: dict[str, Any] = {"confirm_s": args.confirm_s}
    if args.found_down_s is not None:
        fall_kwargs["found_down_s"] = args.found_down_s
    return FallConfig(**fall_kwargs)


def _check_selection(
    args: argparse.Namespace, manifest_names: str, clips: list[ClipRef], n_stills: int
) -> None:
    """Refuses an empty selection, LOSO it cannot run, and plots it cannot draw."""
    if not clips and not n_stills:
        raise UsageError(
            f"{manifest_names}: nothing selected"
            + (f" (--only {' '.join(args.only)} matched no clip or still)" if args.only else "")
        )
    if args.leave_one_source_out:
        if args.cache_dir is None:
            raise UsageError("--leave-one-source-out replays cached detections: give --cache-dir")
        n_sources = len({ref.source for ref in clips})
        if n_sources < 2:
            raise UsageError(
                f"--leave-one-source-out needs clips from at least 2 sources, got {n_sources}"
            )
    # Said before the detector loads, not after the first clip: plots are optional.
    why = plots_unavailable() if args.plots else None
    if why is not None:
        raise UsageError(f"--plots: {why}")
    # Outputs are written after minutes of work: refuse one that cannot be written now.
    check_output_file(args.report, "--report")
    check_output_file(args.markdown, "--markdown")
    check_output_dir(args.plots, "--plots")
    check_output_dir(args.cache_dir, "--cache-dir")


def _settings(
    args: argparse.Namespace,
    manifests: list[SourcedManifest],
    fall_config: FallConfig,
    det_config: Any,
) -> dict[str, Any]:
    """The run's settings, as the JSON report records them."""
    return {
        "manifest": " ".join(str(m) for m in args.manifests),
        "manifests": {m.label: str(m.path) for m in manifests},
        "confirm_s": fall_config.confirm_s,
        "confirm_s_note": "eval default for short clips"
        if args.confirm_s == EVAL_CONFIRM_S
        else "set with --confirm-s",
        "found_down_s": fall_config.found_down_s,
        "detector": args.detector,
        "analysis_fps": args.analysis_fps,
        "detector_config": det_config.model_dump(mode="json"),
        "fall_config": fall_config.model_dump(mode="json"),
        "window_tolerance_s": WINDOW_TOLERANCE_S,
        "fallwatch_version": fallwatch.__version__,
        "only": args.only,
        "limit": args.limit,
        "cache_dir": str(args.cache_dir) if args.cache_dir else None,
    }


def _evaluate_clips(
    args: argparse.Namespace, runner: ClipRunner, clips: list[ClipRef], down_enter: float
) -> list[ClipResult]:
    """Each clip run and scored, its line printed (and its plot drawn) as soon as done."""
    results = []
    for ref in clips:
        result = _evaluate_clip(runner, ref)
        results.append(result)
        print(clip_line(result), flush=True)
        if args.plots and result.outcome is not None:
            try:
                plot_clip(result, down_enter, args.plots / plot_name(result.name))
            except (OSError, ValueError) as exc:
                # A picture is not worth losing the run: the figures are still reported.
                log.warning("no plot for %s: %s", result.name, exc)
    return results


def _write_outputs(args: argparse.Namespace, report: EvalReport) -> None:
    print(render_text(report), flush=True)
    if report.loso is not None:
        print("\n".join(render_loso_text(report.loso)), flush=True)
    if args.report:
        write_json(report, args.report)
        print(f"JSON report: {args.report}")
    markdown = args.markdown or (args.report.with_suffix(".md") if args.report else None)
    if markdown:
        write_markdown(report, markdown)
        print(f"Markdown report: {markdown}")
    if args.plots:
        print(f"Plots: {args.plots}/")


def handle(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be >= 1, got {args.limit}")
    manifests = load_manifests(args.manifests)
    manifest_names = " ".join(str(m) for m in args.manifests)
    fall_config = _fall_config(args)
    clips, stills = select(manifests, args.only, args.limit, args.images)
    _check_selection(args, manifest_names, clips, len(stills))
    det_config = detector_config(args.detector, args.zoom)
    detector = _build_detector(args.detector, det_config)
    if not args.analysis_fps >= 0:  # NaN too
        raise UsageError(f"--analysis-fps must be >= 0, got {args.analysis_fps}")
    cache = PosesCache(args.cache_dir, det_config, args.analysis_fps) if args.cache_dir else None
    settings = _settings(args, manifests, fall_config, det_config)
    print(
        f"Evaluating {len(clips)} clip(s) and {len(stills)} still(s) from {manifest_names} "
        f"(detector {args.detector}, analysis fps {args.analysis_fps:g}, "
        f"confirm_s {fall_config.confirm_s}"
        f"{' - eval default for short clips' if args.confirm_s == EVAL_CONFIRM_S else ''}, "
        f"found_down_s {fall_config.found_down_s})",
        flush=True,
    )
    runner = ClipRunner(detector, fall_config, cache, analysis_fps=args.analysis_fps)
    results = _evaluate_clips(args, runner, clips, fall_config.down_enter)
    stills_result = None
    if stills:
        print(f"Judging {len(stills)} still(s)...", flush=True)
        stills_result = _judge_stills(StillsEvaluator(detector, fall_config, cache), stills)
    loso = None
    if args.leave_one_source_out:
        assert cache is not None
        loso = _leave_one_source_out(results, cache, FITTERS[args.fitter](fall_config))
    report = EvalReport(settings, results, stills_result, time.perf_counter() - started, loso=loso)
    _write_outputs(args, report)
    if report.failed or (stills_result is not None and stills_result.errors):
        print("Some clips or stills failed (listed above): exit code 1.", file=sys.stderr)
        return EXIT_INCOMPLETE
    return EXIT_OK
