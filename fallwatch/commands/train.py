"""`fallwatch train MANIFEST...`: train the learned window scorer and judge it across sources.

Replays each clip's cached detections (`fallwatch eval --cache-dir` writes them; this
command never runs the detector) and labels every tracked person's window vector as
`fallwatch.training.dataset` describes.

Then, for each source (`source.repo`), a model trained without that source's clips
runs the real clip-level decision (`FallClassifier` with the model plugged in) on them,
and the alerts are scored as `fallwatch eval` scores them, beside the rules alone on the
same clips. Last, a model trained on every clip is written with the data version (the
manifests' sha256), the command that made it and the leave-one-source-out figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fallwatch.commands import UsageError, check_output_file
from fallwatch.config.detector import PoseDetectorConfig
from fallwatch.evaluation.runner import PosesCache
from fallwatch.fall.sequence import DEFAULT_WINDOW_S, Combine, SequenceModel
from fallwatch.sources.sampling import DEFAULT_ANALYSIS_FPS
from fallwatch.training.dataset import ClipData, load_clips, manifest_sha256
from fallwatch.training.fit import DEFAULT_L2, train_model
from fallwatch.training.loso import Decision, loso, pooled_json, render

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "fall" / "models" / "sequence.json"
DEFAULT_CONFIRM_S = 2.0
"""`fallwatch eval`'s confirm time for the short dev clips."""
COMBINES: tuple[Combine, ...] = ("either", "both", "model")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "train",
        help="Train the learned window scorer from cached detections; print leave-one-source-out figures.",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "manifests", type=Path, nargs="+", help="manifest.json files (clips with source.repo)."
    )
    p.add_argument(
        "--cache-dir",
        type=Path,
        required=True,
        help="Detections cached by `fallwatch eval --cache-dir`.",
    )
    p.add_argument(
        "--confirm-s",
        type=float,
        nargs="+",
        default=[DEFAULT_CONFIRM_S],
        help="Confirm seconds of the clip decision: one for all manifests or one per manifest "
        f"(default {DEFAULT_CONFIRM_S:g}).",
    )
    p.add_argument(
        "--analysis-fps",
        type=float,
        default=DEFAULT_ANALYSIS_FPS,
        help=f"Analysis rate the cache was made at (default {DEFAULT_ANALYSIS_FPS:g}).",
    )
    p.add_argument(
        "--window-s", type=float, default=DEFAULT_WINDOW_S, help="Window length, seconds."
    )
    p.add_argument(
        "--l2", type=float, default=DEFAULT_L2, help="L2 penalty on standardised weights."
    )
    p.add_argument(
        "--threshold",
        type=float,
        nargs="+",
        default=[0.5],
        help="p(fallen) thresholds to judge; the first is the one recorded (default 0.5).",
    )
    p.add_argument(
        "--combine",
        nargs="+",
        choices=COMBINES,
        default=list(COMBINES),
        help="How the model joins the rules' down decision, to judge (default: all).",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="Weights file to write (default: the shipped one).",
    )
    p.add_argument("--no-loso", action="store_true", help="Skip the leave-one-source-out figures.")
    p.set_defaults(handler=handle)


def _confirm_times(args: argparse.Namespace) -> list[float]:
    """`--confirm-s` per manifest, after checking every option."""
    confirm = list(args.confirm_s)
    if len(confirm) == 1:
        confirm *= len(args.manifests)
    if len(confirm) != len(args.manifests):
        raise UsageError(
            f"--confirm-s takes one value or one per manifest ({len(args.manifests)}), got {len(confirm)}"
        )
    if not 0 < args.window_s <= 30:
        raise UsageError(f"--window-s must be in (0, 30], got {args.window_s}")
    if any(not 0 <= t <= 1 for t in args.threshold):
        raise UsageError(f"--threshold values must be in [0, 1], got {args.threshold}")
    return confirm


def _load(args: argparse.Namespace, confirm: list[float]) -> tuple[list[ClipData], list[str]]:
    cache = PosesCache(args.cache_dir, PoseDetectorConfig(), args.analysis_fps)
    clips, missing = load_clips(args.manifests, cache, confirm, args.window_s)
    if missing:
        print(
            f"{len(missing)} clip(s) have no cached detections and are left out: {', '.join(missing[:5])}"
            + (" ..." if len(missing) > 5 else "")
        )
    if not clips:
        raise UsageError(f"no clip of {', '.join(map(str, args.manifests))} is in {args.cache_dir}")
    return clips, missing


def _command_line(args: argparse.Namespace, confirm: list[float]) -> str:
    return shlex.join(
        [
            "fallwatch",
            "train",
            *map(str, args.manifests),
            "--cache-dir",
            str(args.cache_dir),
            "--confirm-s",
            *(f"{c:g}" for c in confirm),
            "--window-s",
            f"{args.window_s:g}",
            "--l2",
            f"{args.l2:g}",
            "--threshold",
            *(f"{t:g}" for t in args.threshold),
            "--combine",
            *args.combine,
        ]
    )


def handle(args: argparse.Namespace) -> int:
    check_output_file(args.out, "--out")
    confirm = _confirm_times(args)
    clips, missing = _load(args, confirm)
    n_win = sum(int((c.y >= 0).sum()) for c in clips)
    n_pos = sum(int((c.y == 1).sum()) for c in clips)
    sources = sorted({c.source for c in clips})
    print(
        f"{len(clips)} clips from {len(sources)} sources; {n_win} labelled windows, {n_pos} fallen"
    )

    def fit(train: Sequence[ClipData]) -> SequenceModel:
        return train_model(train, args.window_s, args.l2)

    decisions: list[Decision] = [(c, t) for c in args.combine for t in args.threshold]
    loso_figures: dict[str, Any] | None = None
    if not args.no_loso:
        folds = loso(clips, decisions, fit)
        print(render(folds, decisions, clips), flush=True)
        loso_figures = pooled_json(folds, decisions)
    model = fit(clips)
    metadata = {
        "data_version": {f"{m.parent.name}/{m.name}": manifest_sha256(m) for m in args.manifests},
        "command": _command_line(args, confirm),
        "trained_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "clips": len(clips),
        "clips_missing_from_cache": len(missing),
        "sources": len(sources),
        "windows": n_win,
        "fallen_windows": n_pos,
        "confirm_s": confirm,
        "loso_certain_clips": loso_figures,
    }
    out = SequenceModel(
        model.weights, model.bias, model.mean, model.scale, model.window_s, metadata=metadata
    ).save(args.out)
    print(f"Weights: {out} ({out.stat().st_size} bytes)")
    return 0
