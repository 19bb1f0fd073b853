"""An evaluation's results and the JSON report (text and Markdown: `render`; plots: `plots`).

The JSON is a contract: other tools score a run from `clips[].file` (exactly as written
in the manifest) and `clips[].alerts_s` (seconds from the clip's first frame), so those
two keys keep their names and meaning; everything else is for people. With several
manifests `file` alone can repeat: `clips[].name` (`<manifest label>/<file>`) and
`clips[].manifest` tell them apart.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fallwatch.evaluation.loso import LosoResult, loso_json
from fallwatch.evaluation.manifest import Clip
from fallwatch.evaluation.runner import ClipRun, Speed
from fallwatch.evaluation.scoring import ClipOutcome, Totals, summarize
from fallwatch.evaluation.stills import StillsResult

REPORT_FORMAT = 1


@dataclass(frozen=True)
class ClipResult:
    """One manifest clip: its run and outcome, or the error that stopped it."""

    index: int
    """Position in the manifest's clip list."""
    clip: Clip
    run: ClipRun | None = None
    outcome: ClipOutcome | None = None
    error: str | None = None
    name: str = ""
    """Unique across manifests (`<manifest label>/<file>`); empty means `clip.file`."""
    source: str = ""
    """Per-source group: the clip's `source.repo`, else its manifest's label."""
    manifest: str = ""
    """Label of the manifest the clip comes from."""

    def __post_init__(self) -> None:
        # Frozen: fill the defaults that depend on the clip once, here.
        if not self.name:
            object.__setattr__(self, "name", self.clip.file)
        if not self.source:
            repo = self.clip.source.repo if self.clip.source is not None else None
            object.__setattr__(self, "source", repo or self.manifest or "-")


@dataclass(frozen=True)
class SourceTotals:
    """One source's figures: certain clips (the headline) and uncertain ones apart."""

    source: str
    headline: Totals
    uncertain: Totals


def totals_by_source(clips: Sequence[ClipResult]) -> list[SourceTotals]:
    """Per-source totals, sources in name order; failed clips are left out."""
    sources = sorted({c.source for c in clips}, key=str.casefold)
    rows = []
    for source in sources:
        mine = [c for c in clips if c.source == source and c.outcome is not None]
        rows.append(
            SourceTotals(
                source,
                summarize([c.outcome for c in mine if c.outcome and not c.clip.uncertain]),
                summarize([c.outcome for c in mine if c.outcome and c.clip.uncertain]),
            )
        )
    return rows


@dataclass(frozen=True)
class EvalReport:
    settings: dict[str, Any]
    clips: list[ClipResult]
    stills: StillsResult | None
    wall_s: float
    loso: LosoResult | None = None
    """Leave-one-source-out figures, when asked for."""

    def _scored(self, uncertain: bool) -> list[ClipOutcome]:
        return [
            c.outcome for c in self.clips if c.outcome is not None and c.clip.uncertain == uncertain
        ]

    @property
    def headline(self) -> Totals:
        """Totals over the clips whose label is certain."""
        return summarize(self._scored(uncertain=False))

    @property
    def uncertain(self) -> Totals:
        return summarize(self._scored(uncertain=True))

    @property
    def sources(self) -> list[SourceTotals]:
        return totals_by_source(self.clips)

    @property
    def failed(self) -> list[ClipResult]:
        return [c for c in self.clips if c.error is not None]

    @property
    def speed(self) -> Speed:
        return Speed.of([c.run for c in self.clips if c.run is not None])


# ---------------------------------------------------------------------------- helpers
def rounded(x: float | None, nd: int = 3) -> float | None:
    """`x` rounded to `nd` places for a report; None for a missing or infinite value."""
    return None if x is None or not math.isfinite(x) else round(float(x), nd)


def clip_flags(c: ClipResult) -> str:
    """Comma-separated notes for a clip's table row: hard-negative, uncertain, cached."""
    flags = []
    if c.clip.label.hard_negative:
        flags.append("hard-negative")
    if c.clip.uncertain:
        flags.append("uncertain")
    if c.run is not None and c.run.cached:
        flags.append("cached")
    return ",".join(flags)


# ---------------------------------------------------------------------------- JSON
def _totals_json(t: Totals) -> dict[str, Any]:
    return {
        "clips": t.clips,
        "fall_clips": t.fall_clips,
        "falls_alerted": t.falls_alerted,
        "fall_recall": rounded(t.fall_recall),
        "fall_events": t.fall_events,
        "fall_events_alerted": t.fall_events_alerted,
        "event_recall": rounded(t.event_recall),
        "no_fall_clips": t.no_fall_clips,
        "no_fall_clips_alerted": t.no_fall_clips_alerted,
        "hard_negative_clips": t.hard_negative_clips,
        "hard_negatives_alerted": t.hard_negatives_alerted,
        "false_alarms": t.false_alarms,
        "false_alarms_on_fall_clips": t.false_alarms_on_fall_clips,
        "false_alarm_clips": t.false_alarm_clips,
        "video_s": rounded(t.video_s, 1),
        "false_alarms_per_hour": rounded(t.false_alarms_per_hour, 2),
        "delay_median_s": rounded(t.delay_median_s),
        "delay_max_s": rounded(t.delay_max_s),
    }


def _clip_json(c: ClipResult) -> dict[str, Any]:
    run, out = c.run, c.outcome
    return {
        "file": c.clip.file,
        "name": c.name,
        "manifest": c.manifest,
        "source": c.source,
        "index": c.index,
        # Near full precision: other tools re-score these against window edges.
        "alerts_s": [] if run is None else [rounded(t, 6) for t in run.alerts_s],
        "alerts": []
        if run is None
        else [
            {
                "t_s": rounded(a.t_s, 6),
                "kind": a.kind,
                "track_id": a.track_id,
                "down_from_s": rounded(a.down_from_s),
            }
            for a in run.alerts
        ],
        "label": c.clip.label.model_dump(mode="json", exclude_none=True),
        "uncertain": c.clip.uncertain,
        "hard_negative": c.clip.label.hard_negative,
        "window_s": None
        if out is None or out.window_s is None
        else [rounded(v) for v in out.window_s],
        "windows_s": None if out is None else [[rounded(v) for v in w] for w in out.windows_s],
        "event_hits_s": None if out is None else [rounded(t, 6) for t in out.event_hits_s],
        "verdict": None if out is None else out.verdict,
        "matched": None if out is None else out.matched,
        "delay_s": None if out is None else rounded(out.delay_s),
        "false_alarm": None if out is None else out.false_alarm,
        "false_alarms_s": [] if out is None else [rounded(t) for t in out.false_alarms_s],
        "frames": None if run is None else run.frames,
        "fps": None if run is None else rounded(run.fps),
        "duration_s": None if out is None else rounded(out.duration_s),
        "wall_s": None if run is None else rounded(run.wall_s),
        "analysed_fps": None
        if run is None or run.wall_s <= 0
        else rounded(run.frames / run.wall_s, 1),
        "stage_ms": {} if run is None else {k: rounded(v, 1) for k, v in run.stage_ms.items()},
        "cached": None if run is None else run.cached,
        "error": c.error,
    }


def _stills_json(s: StillsResult) -> dict[str, Any]:
    cm = s.confusion
    return {
        "images": len(s.outcomes),
        "judged": len(s.judged),
        "errors": len(s.errors),
        "down_enter": s.down_enter,
        "accuracy": rounded(cm.accuracy),
        "precision": rounded(cm.precision),
        "recall": rounded(cm.recall),
        "confusion": {"tp": cm.tp, "fp": cm.fp, "fn": cm.fn, "tn": cm.tn},
        "boxes": s.box_totals(),
        "wall_s": rounded(s.wall_s, 2),
        "cached": s.cached,
        "items": [
            {
                "image": o.name,
                "truth_fallen": o.truth_fallen,
                "predicted_fallen": o.predicted_fallen,
                "max_down_score": rounded(o.max_down_score),
                "people": o.people,
                "fall_boxes": o.fall_boxes,
                "fall_boxes_found": o.fall_boxes_found,
                "fall_boxes_down": o.fall_boxes_down,
                "upright_boxes": o.upright_boxes,
                "upright_boxes_found": o.upright_boxes_found,
                "upright_boxes_down": o.upright_boxes_down,
                "error": o.error,
            }
            for o in s.outcomes
        ],
    }


def to_json(report: EvalReport) -> dict[str, Any]:
    sp = report.speed
    return {
        "format": REPORT_FORMAT,
        "settings": report.settings,
        "totals": _totals_json(report.headline),
        "uncertain_totals": _totals_json(report.uncertain),
        "sources": [
            {
                "source": row.source,
                "totals": _totals_json(row.headline),
                "uncertain_totals": _totals_json(row.uncertain),
            }
            for row in report.sources
        ],
        "speed": {
            "frames": sp.frames,
            "wall_s": rounded(sp.wall_s, 2),
            "video_s": rounded(sp.video_s, 1),
            "frames_per_s": rounded(sp.frames_per_s, 1),
            "x_realtime": rounded(sp.x_realtime, 2),
            "cached_clips": sp.cached_clips,
        },
        "wall_s": rounded(report.wall_s, 2),
        "failed_clips": [
            {"file": c.clip.file, "name": c.name, "error": c.error} for c in report.failed
        ],
        "clips": [_clip_json(c) for c in report.clips],
        "images": None if report.stills is None else _stills_json(report.stills),
        "leave_one_source_out": None if report.loso is None else loso_json(report.loso),
    }


def write_json(report: EvalReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(report), indent=1) + "\n", encoding="utf-8")
