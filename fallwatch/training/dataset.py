"""The learned window scorer's data: each clip's window vectors, labelled from its manifest.

Each clip's cached detections (`fallwatch eval --cache-dir` writes them; training never
runs the detector) are replayed through the evaluation's runner (tracker and rules), and
every tracked person's window vector (fallwatch.fall.sequence) is recorded and labelled:

- fallen (1): on a fall clip, the faller while down: window end from `down_from_s + 0.5`
  to `down_until_s - 0.25` (the clip's end for "end"); the faller is, frame by frame,
  the person the rules score most down. Other people at those times are left out (a
  second faller is not timed by the labels).
- not fallen (0): everyone on a no-fall clip; everyone on a fall clip until 0.5 s before
  `fall_start_s` (1.5 s before `down_from_s` where none is given), and from 2.5 s after
  they got up.
- everything else is left out: the labels are read by eye to +-0.5 s.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from fallwatch.config.fall import FallConfig
from fallwatch.evaluation.manifest import ClipLabel, load_manifest
from fallwatch.evaluation.runner import ALERT_KINDS, ClipRunner, Detections, PosesCache
from fallwatch.fall.sequence import (
    DEFAULT_WINDOW_S,
    SequenceModel,
    SequenceScorer,
    frame_features,
    window_feature_names,
)
from fallwatch.posture import PostureFeatures

POSITIVE_AFTER_DOWN_S = 0.5
POSITIVE_BEFORE_UP_S = 0.25
NEGATIVE_BEFORE_FALL_S = 0.5
NEGATIVE_BEFORE_DOWN_S = 1.5
NEGATIVE_AFTER_UP_S = 2.5

REPLAY_PATH = Path("replay")
"""Stands in for the clip's file in a replay: it names the camera only (no zoom, so the
frames are never decoded again)."""

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


class RecordingScorer(SequenceScorer):
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
    """Tracker + rules (+ model) over cached detections, as `fallwatch eval` replays them.

    Returns the alert times and each (frame time, track id)'s rules down score.
    """
    runner = ClipRunner(None, config, sequence=sequence)
    alerts: list[float] = []
    scores: dict[tuple[float, int], float] = {}
    for result in runner.replay_results(detections, REPLAY_PATH):
        update, t = result.update, result.frame.t_s
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
    down = (times_s >= down_from + POSITIVE_AFTER_DOWN_S) & (
        times_s <= until - POSITIVE_BEFORE_UP_S
    )
    for t in np.unique(times_s[down]):
        at = np.flatnonzero(times_s == t)
        # The faller is the person the rules find most down at that moment, frame by
        # frame rather than by track id, as the tracker may switch ids during a fall.
        y[at[int(np.argmax(rule_scores[at]))]] = 1
    return y


def manifest_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class _Windows:
    """One replay's recorded windows and the rules' alerts."""

    times_s: FloatArr
    x: FloatArr
    rule_scores: FloatArr
    alerts_s: tuple[float, ...]


def _record(det: Detections, config: FallConfig, window_s: float) -> _Windows:
    recorder = RecordingScorer(window_s)
    alerts, scores = replay(det, config, recorder)
    d = len(window_feature_names())
    times = np.array([r[0] for r in recorder.rows], np.float64)
    x = np.stack([r[2] for r in recorder.rows]) if recorder.rows else np.zeros((0, d))
    rule = np.array([scores.get((r[0], r[1]), 0.0) for r in recorder.rows], np.float64)
    return _Windows(times, x, rule, tuple(alerts))


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
            w = _record(det, config, window_s)
            duration = (
                clip.duration_s
                if clip.duration_s is not None
                else len(det.times_s) / max(det.fps, 1e-6)
            )
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
                    times_s=w.times_s,
                    x=w.x,
                    y=label_windows(clip.label, duration, w.times_s, w.rule_scores),
                    rules_alerts_s=w.alerts_s,
                    rule_scores=w.rule_scores,
                )
            )
    return clips, missing
