"""`fallwatch train MANIFEST...`: train the learned window scorer and judge it across sources.

Replays each clip's cached detections (`fallwatch eval --cache-dir` writes them; this
command never runs the detector) through the tracker and the rules, records every
tracked person's window vector (fallwatch.fall.sequence) and labels it from the manifest:

- fallen (1): on a fall clip, the faller while down: window end from `down_from_s + 0.5`
  to `down_until_s - 0.25` (the clip's end for "end"); the faller is, frame by frame,
  the person the rules score most down. Other people at those times are left out (a
  second faller is not timed by the labels).
- not fallen (0): everyone on a no-fall clip; everyone on a fall clip until 0.5 s before
  `fall_start_s` (1.5 s before `down_from_s` where none is given), and from 2.5 s after
  they got up.
- everything else is left out: the labels are read by eye to +-0.5 s.

Then, for each source (`source.repo`), a model trained without that source's clips
runs the real clip-level decision (`FallClassifier` with the model plugged in) on them,
and the alerts are scored as `fallwatch eval` scores them, beside the rules alone on the
same clips. Last, a model trained on every clip is written with the data version (the
manifests' sha256), the command that made it and the leave-one-source-out figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import logging
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from fallwatch.commands import UsageError
from fallwatch.config.detector import PoseDetectorConfig
from fallwatch.config.fall import FallConfig
from fallwatch.evaluation.manifest import ClipLabel, load_manifest
from fallwatch.evaluation.runner import ALERT_KINDS, Detections, PosesCache
from fallwatch.evaluation.scoring import score_clip
from fallwatch.fall.classifier import FallClassifier
from fallwatch.fall.features import PostureFeatures
from fallwatch.fall.sequence import (
    DEFAULT_WINDOW_S,
    Combine,
    SequenceModel,
    SequenceScorer,
    fit_logistic,
    frame_features,
    window_feature_names,
)
from fallwatch.sources.sampling import DEFAULT_ANALYSIS_FPS
from fallwatch.track.tracker import PersonTracker

log = logging.getLogger(__name__)

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "fall" / "models" / "sequence.json"
DEFAULT_CONFIRM_S = 2.0
"""`fallwatch eval`'s confirm time for the short dev clips."""
POSITIVE_AFTER_DOWN_S = 0.5
POSITIVE_BEFORE_UP_S = 0.25
NEGATIVE_BEFORE_FALL_S = 0.5
NEGATIVE_BEFORE_DOWN_S = 1.5
NEGATIVE_AFTER_UP_S = 2.5
COMBINES: tuple[Combine, ...] = ("either", "both", "model")

FloatArr = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ClipData:
    """One clip's detections, labels and the rules' own alerts, ready to train and judge."""

    manifest: str
    file: str
    source: str
    label: ClipLabel
    uncertain: bool
    duration_s: float
    confirm_s: float
    detections: Detections
    times_s: FloatArr
    """`(m,)` time of each recorded window (its newest frame)."""
    x: FloatArr
    """`(m, d)` window vectors, one per tracked person per frame."""
    y: npt.NDArray[np.int8]
    """`(m,)` 1 fallen, 0 not fallen, -1 left out."""
    rules_alerts_s: tuple[float, ...]
    rule_scores: FloatArr | None = None
    """`(m,)` the rules' per-frame down score of each window's person at its newest frame."""


class _RecordingScorer(SequenceScorer):
    """Scores nothing (the rules decide alone) and keeps each person's window vector."""

    def __init__(self, window_s: float):
        d = len(window_feature_names())
        silent = SequenceModel(np.zeros(d), -30.0, np.zeros(d), np.ones(d), window_s)
        super().__init__(silent, threshold=1.0, combine="either")
        self.rows: list[tuple[float, int, FloatArr]] = []

    def update(
        self,
        track_id: int,
        t_s: float,
        f: PostureFeatures,
        i: int,
        baseline_top_y: float | None,
        baseline_height_px: float | None,
    ) -> float:
        x = self.window(track_id, t_s, frame_features(f, i, baseline_top_y, baseline_height_px))
        self.rows.append((t_s, track_id, x))
        return 0.0


def replay(
    detections: Detections, config: FallConfig, sequence: SequenceScorer | None
) -> tuple[list[float], dict[tuple[float, int], float]]:
    """Tracker + rules (+ model) over cached detections, as `fallwatch eval` runs them.

    Returns the alert times and each (frame time, track id)'s rules down score.
    """
    tracker = PersonTracker()
    classifier = FallClassifier(config, sequence=sequence)
    alerts: list[float] = []
    scores: dict[tuple[float, int], float] = {}
    for t_s, poses in zip(detections.times_s, detections.poses, strict=True):
        t = float(t_s)
        update = classifier.update(tracker.update(poses, t), t)
        alerts.extend(e.t_s for e in update.events if e.kind in ALERT_KINDS)
        for status in update.tracks:
            scores[(t, status.track_id)] = status.down_score
    return alerts, scores


def label_windows(
    label: ClipLabel,
    duration_s: float,
    times_s: FloatArr,
    rule_scores: FloatArr,
) -> npt.NDArray[np.int8]:
    """1 / 0 / -1 (left out) per window; see the module docstring for the rules."""
    y = np.full(len(times_s), -1, np.int8)
    if not label.fall or label.down_from_s is None:
        y[:] = 0
        return y
    down_from = label.down_from_s
    got_up = isinstance(label.down_until_s, float | int)
    until = float(label.down_until_s) if isinstance(label.down_until_s, float | int) else duration_s
    before = (
        label.fall_start_s - NEGATIVE_BEFORE_FALL_S
        if label.fall_start_s is not None
        else down_from - NEGATIVE_BEFORE_DOWN_S
    )
    y[times_s < before] = 0
    if got_up:
        y[times_s > until + NEGATIVE_AFTER_UP_S] = 0
    down = (times_s >= down_from + POSITIVE_AFTER_DOWN_S) & (times_s <= until - POSITIVE_BEFORE_UP_S)
    for t in np.unique(times_s[down]):
        at = np.flatnonzero(times_s == t)
        # The faller is the person the rules find most down at that moment, frame by
        # frame rather than by track id, as the tracker may switch ids during a fall.
        y[at[int(np.argmax(rule_scores[at]))]] = 1
    return y


def manifest_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_clips(
    manifests: Sequence[Path],
    cache: PosesCache,
    confirm_s: Sequence[float],
    window_s: float = DEFAULT_WINDOW_S,
) -> tuple[list[ClipData], list[str]]:
    """Every clip with cached detections, labelled; and the clips that had none."""
    clips: list[ClipData] = []
    missing: list[str] = []
    for mpath, confirm in zip(manifests, confirm_s, strict=True):
        manifest = load_manifest(mpath)
        config = FallConfig(confirm_s=confirm)
        name = f"{mpath.parent.name}/{mpath.name}"
        for clip in manifest.videos:
            path = manifest.clip_path(clip)
            det = cache.load(path) if path.exists() else None
            if det is None:
                missing.append(f"{name}:{clip.file}")
                continue
            recorder = _RecordingScorer(window_s)
            alerts, scores = replay(det, config, recorder)
            duration = clip.duration_s if clip.duration_s is not None else len(det.times_s) / max(det.fps, 1e-6)
            d = len(window_feature_names())
            times = np.array([r[0] for r in recorder.rows], np.float64)
            x = np.stack([r[2] for r in recorder.rows]) if recorder.rows else np.zeros((0, d))
            rule = np.array([scores.get((r[0], r[1]), 0.0) for r in recorder.rows], np.float64)
            clips.append(
                ClipData(
                    manifest=name,
                    file=clip.file,
                    source=(clip.source.repo if clip.source is not None else None) or "unknown",
                    label=clip.label,
                    uncertain=clip.uncertain,
                    duration_s=duration,
                    confirm_s=confirm,
                    detections=det,
                    times_s=times,
                    x=x,
                    y=label_windows(clip.label, duration, times, rule),
                    rules_alerts_s=tuple(alerts),
                    rule_scores=rule,
                )
            )
    return clips, missing


def training_set(clips: Sequence[ClipData]) -> tuple[FloatArr, FloatArr, FloatArr]:
    """(x, y, sample weight) of the labelled windows.

    Each clip weighs the same whatever its length, divided by the square root of its
    source's clip count so one big source (66 lab clips of one subject) does not drown
    twenty small ones; then fallen and not-fallen weigh half each.
    """
    per_source: dict[str, int] = {}
    for c in clips:
        per_source[c.source] = per_source.get(c.source, 0) + 1
    xs, ys, ws = [], [], []
    for c in clips:
        keep = c.y >= 0
        for cls in (0, 1):
            sel = keep & (c.y == cls)
            n = int(sel.sum())
            if n == 0:
                continue
            xs.append(c.x[sel])
            ys.append(np.full(n, cls, np.float64))
            ws.append(np.full(n, 1.0 / n / np.sqrt(per_source[c.source])))
    if not xs:
        raise ValueError("no labelled windows to train on")
    x, y, w = np.concatenate(xs), np.concatenate(ys), np.concatenate(ws)
    for cls in (0, 1):
        total = w[y == cls].sum()
        if total <= 0:
            raise ValueError("training needs both fallen and not-fallen windows")
        w[y == cls] *= 0.5 / total
    return x, y, w


def train_model(
    clips: Sequence[ClipData], window_s: float = DEFAULT_WINDOW_S, l2: float = 0.01
) -> SequenceModel:
    x, y, w = training_set(clips)
    weights, bias, mean, scale = fit_logistic(x, y, w, l2=l2)
    return SequenceModel(weights, bias, mean, scale, window_s)


@dataclass(frozen=True)
class Figures:
    """Clip-level counts of one decision over a set of clips."""

    falls: int = 0
    falls_alerted: int = 0
    no_falls: int = 0
    no_falls_alerted: int = 0
    false_alarms: int = 0
    """All alerts outside a down window, fall clips included."""

    def __add__(self, other: Figures) -> Figures:
        return Figures(*(a + b for a, b in zip(self.astuple(), other.astuple(), strict=True)))

    def astuple(self) -> tuple[int, int, int, int, int]:
        return (self.falls, self.falls_alerted, self.no_falls, self.no_falls_alerted, self.false_alarms)

    def text(self) -> str:
        return f"{self.falls_alerted:>2}/{self.falls:<2} {self.no_falls_alerted:>2}/{self.no_falls:<2} {self.false_alarms:>3}"


def verdict(clip: ClipData, alerts_s: Sequence[float]) -> str:
    return score_clip(alerts_s, clip.label, clip.duration_s).verdict


def judge(clip: ClipData, alerts_s: Sequence[float]) -> Figures:
    """Certain clips only; uncertain ones are left to `fallwatch eval`'s own report."""
    if clip.uncertain:
        return Figures()
    o = score_clip(alerts_s, clip.label, clip.duration_s)
    fa = len(o.false_alarms_s)
    if clip.label.fall:
        return Figures(falls=1, falls_alerted=int(o.matched), false_alarms=fa)
    return Figures(no_falls=1, no_falls_alerted=int(bool(o.alerts_s)), false_alarms=fa)


Decision = tuple[Combine, float]


@dataclass(frozen=True)
class Fold:
    source: str
    trained_on: frozenset[str]
    """Sources of the clips the fold's model was trained on (never `source`)."""
    rules: Figures
    model: dict[Decision, Figures]
    changed: dict[Decision, list[str]]
    """Certain clips whose verdict the model changed: 'file: rules verdict -> model verdict'."""
    windows: tuple[FloatArr, FloatArr, FloatArr] = (np.zeros(0), np.zeros(0), np.zeros(0))
    """Held-out labelled windows: (label, model p, rules down score)."""


def auc(y: FloatArr, score: FloatArr) -> float | None:
    """Area under the ROC curve (ties count half); None without both classes."""
    pos, neg = score[y == 1], score[y == 0]
    if len(pos) == 0 or len(neg) == 0:
        return None
    allv = np.concatenate([pos, neg])
    order = np.argsort(allv, kind="mergesort")
    ranks = np.empty(len(allv))
    ranks[order] = np.arange(1, len(allv) + 1)
    # Average ranks over ties.
    _, inv = np.unique(allv, return_inverse=True)
    sums = np.bincount(inv, weights=ranks)
    counts = np.bincount(inv)
    ranks = (sums / counts)[inv]
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def _held_out_windows(model: SequenceModel, held: Sequence[ClipData]) -> tuple[FloatArr, FloatArr, FloatArr]:
    ys, ps, rs = [np.zeros(0)], [np.zeros(0)], [np.zeros(0)]
    for c in held:
        keep = c.y >= 0
        if not keep.any():
            continue
        ys.append(c.y[keep].astype(np.float64))
        ps.append(model.predict(c.x[keep]))
        rules = c.rule_scores if c.rule_scores is not None else np.full(len(c.y), np.nan)
        rs.append(rules[keep])
    return np.concatenate(ys), np.concatenate(ps), np.concatenate(rs)


def loso(
    clips: Sequence[ClipData],
    decisions: Sequence[Decision],
    fit: Callable[[Sequence[ClipData]], SequenceModel] = train_model,
) -> list[Fold]:
    """Leave one source out: train without it, run the rules + model decision on it."""
    folds = []
    for source in sorted({c.source for c in clips}):
        held = [c for c in clips if c.source == source]
        train = [c for c in clips if c.source != source]
        model = fit(train)
        rules = sum((judge(c, c.rules_alerts_s) for c in held), Figures())
        per: dict[Decision, Figures] = {}
        changed: dict[Decision, list[str]] = {}
        for combine, threshold in decisions:
            total = Figures()
            changed[(combine, threshold)] = []
            for c in held:
                config = FallConfig(confirm_s=c.confirm_s)
                alerts, _ = replay(c.detections, config, SequenceScorer(model, threshold, combine))
                total = total + judge(c, alerts)
                before, after = verdict(c, c.rules_alerts_s), verdict(c, alerts)
                if before != after and not c.uncertain:
                    changed[(combine, threshold)].append(f"{c.file}: {before} -> {after}")
            per[(combine, threshold)] = total
        folds.append(
            Fold(source, frozenset(c.source for c in train), rules, per, changed, _held_out_windows(model, held))
        )
    return folds


def render(folds: Sequence[Fold], decisions: Sequence[Decision], clips: Sequence[ClipData]) -> str:
    heads = ["rules"] + [f"{c}@{t:g}" for c, t in decisions]
    lines = [
        (
            "Leave-one-source-out, certain clips; each cell: falls alerted/falls, "
            "no-fall clips alerted/no-fall clips, false alarms"
        ),
        f"{'held-out source':<46}" + "".join(f"{h:<16}" for h in heads),
    ]
    by_manifest: dict[str, set[str]] = {}
    for c in clips:
        by_manifest.setdefault(c.manifest, set()).add(c.source)
    for f in folds:
        cells = [f.rules.text()] + [f.model[d].text() for d in decisions]
        lines.append(f"{f.source[:45]:<46}" + "".join(f"{x:<16}" for x in cells))
    groups = [(f"pooled {m}", src) for m, src in sorted(by_manifest.items())]
    groups.append(("pooled all", {f.source for f in folds}))
    for name, srcs in groups:
        sel = [f for f in folds if f.source in srcs]
        rules = sum((f.rules for f in sel), Figures())
        cells = [rules.text()] + [sum((f.model[d] for f in sel), Figures()).text() for d in decisions]
        lines.append(f"{name[:45]:<46}" + "".join(f"{x:<16}" for x in cells))
    for name, srcs in groups:
        sel = [f for f in folds if f.source in srcs]
        y = np.concatenate([f.windows[0] for f in sel])
        model_auc = auc(y, np.concatenate([f.windows[1] for f in sel]))
        rules_auc = auc(y, np.concatenate([f.windows[2] for f in sel]))
        lines.append(
            f"window AUC, {name}: model {_fmt(model_auc)}, rules' down score {_fmt(rules_auc)} "
            f"({int((y == 1).sum())} fallen / {int((y == 0).sum())} not fallen held-out windows)"
        )
    for d in decisions:
        diffs = [line for f in folds for line in f.changed[d]]
        lines.append(f"{d[0]}@{d[1]:g} changed {len(diffs)} certain clip(s) from the rules' verdict")
        lines.extend(f"  {line}" for line in diffs)
    return "\n".join(lines)


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def pooled_json(folds: Sequence[Fold], decisions: Sequence[Decision]) -> dict[str, Any]:
    def fig(f: Figures) -> dict[str, int]:
        return dict(zip(("falls", "falls_alerted", "no_falls", "no_falls_alerted", "false_alarms"), f.astuple(), strict=True))

    out: dict[str, Any] = {"rules": fig(sum((f.rules for f in folds), Figures()))}
    for d in decisions:
        out[f"{d[0]}@{d[1]:g}"] = fig(sum((f.model[d] for f in folds), Figures()))
    return out


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "train",
        help="Train the learned window scorer from cached detections; print leave-one-source-out figures.",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("manifests", type=Path, nargs="+", help="manifest.json files (clips with source.repo).")
    p.add_argument("--cache-dir", type=Path, required=True, help="Detections cached by `fallwatch eval --cache-dir`.")
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
    p.add_argument("--window-s", type=float, default=DEFAULT_WINDOW_S, help="Window length, seconds.")
    p.add_argument("--l2", type=float, default=0.01, help="L2 penalty on standardised weights.")
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
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Weights file to write (default: the shipped one).")
    p.add_argument("--no-loso", action="store_true", help="Skip the leave-one-source-out figures.")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
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
    cache = PosesCache(args.cache_dir, PoseDetectorConfig(), args.analysis_fps)
    clips, missing = load_clips(args.manifests, cache, confirm, args.window_s)
    if missing:
        print(f"{len(missing)} clip(s) have no cached detections and are left out: {', '.join(missing[:5])}"
              + (" ..." if len(missing) > 5 else ""))
    if not clips:
        raise UsageError(f"no clip of {', '.join(map(str, args.manifests))} is in {args.cache_dir}")
    n_win = sum(int((c.y >= 0).sum()) for c in clips)
    n_pos = sum(int((c.y == 1).sum()) for c in clips)
    sources = sorted({c.source for c in clips})
    print(f"{len(clips)} clips from {len(sources)} sources; {n_win} labelled windows, {n_pos} fallen")

    def fit(train: Sequence[ClipData]) -> SequenceModel:
        return train_model(train, args.window_s, args.l2)

    decisions: list[Decision] = [(c, t) for c in args.combine for t in args.threshold]
    loso_figures: dict[str, Any] | None = None
    if not args.no_loso:
        folds = loso(clips, decisions, fit)
        print(render(folds, decisions, clips), flush=True)
        loso_figures = pooled_json(folds, decisions)
    model = fit(clips)
    command = shlex.join(
        ["fallwatch", "train", *map(str, args.manifests), "--cache-dir", str(args.cache_dir),
         "--confirm-s", *(f"{c:g}" for c in confirm), "--window-s", f"{args.window_s:g}",
         "--l2", f"{args.l2:g}", "--threshold", *(f"{t:g}" for t in args.threshold),
         "--combine", *args.combine]
    )
    metadata = {
        "data_version": {f"{m.parent.name}/{m.name}": manifest_sha256(m) for m in args.manifests},
        "command": command,
        "trained_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "clips": len(clips),
        "clips_missing_from_cache": len(missing),
        "sources": len(sources),
        "windows": n_win,
        "fallen_windows": n_pos,
        "confirm_s": confirm,
        "loso_certain_clips": loso_figures,
    }
    out = SequenceModel(model.weights, model.bias, model.mean, model.scale, model.window_s, metadata=metadata).save(args.out)
    print(f"Weights: {out} ({out.stat().st_size} bytes)")
    return 0
