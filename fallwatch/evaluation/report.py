"""An evaluation's results: the printout, the JSON report, Markdown and per-clip plots.

The JSON is a contract: other tools score a run from `clips[].file` (exactly as written
in the manifest) and `clips[].alerts_s` (seconds from the clip's first frame), so those
two keys keep their names and meaning; everything else is for people. With several
manifests `file` alone can repeat: `clips[].name` (`<manifest label>/<file>`) and
`clips[].manifest` tell them apart.
"""

from __future__ import annotations

import json
import math
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fallwatch.evaluation.loso import LosoResult, loso_json, render_loso_markdown
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
            c.outcome
            for c in self.clips
            if c.outcome is not None and c.clip.uncertain == uncertain
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
def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), nd)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def _s(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "-"
    return f"{x:+.2f} s" if signed else f"{x:.2f} s"


def _flags(c: ClipResult) -> str:
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
        "fall_recall": _r(t.fall_recall),
        "fall_events": t.fall_events,
        "fall_events_alerted": t.fall_events_alerted,
        "event_recall": _r(t.event_recall),
        "no_fall_clips": t.no_fall_clips,
        "no_fall_clips_alerted": t.no_fall_clips_alerted,
        "hard_negative_clips": t.hard_negative_clips,
        "hard_negatives_alerted": t.hard_negatives_alerted,
        "false_alarms": t.false_alarms,
        "false_alarms_on_fall_clips": t.false_alarms_on_fall_clips,
        "false_alarm_clips": t.false_alarm_clips,
        "video_s": _r(t.video_s, 1),
        "false_alarms_per_hour": _r(t.false_alarms_per_hour, 2),
        "delay_median_s": _r(t.delay_median_s),
        "delay_max_s": _r(t.delay_max_s),
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
        "alerts_s": [] if run is None else [_r(t, 6) for t in run.alerts_s],
        "alerts": []
        if run is None
        else [
            {
                "t_s": _r(a.t_s, 6),
                "kind": a.kind,
                "track_id": a.track_id,
                "down_from_s": _r(a.down_from_s),
            }
            for a in run.alerts
        ],
        "label": c.clip.label.model_dump(mode="json", exclude_none=True),
        "uncertain": c.clip.uncertain,
        "hard_negative": c.clip.label.hard_negative,
        "window_s": None
        if out is None or out.window_s is None
        else [_r(v) for v in out.window_s],
        "windows_s": None
        if out is None
        else [[_r(v) for v in w] for w in out.windows_s],
        "event_hits_s": None
        if out is None
        else [_r(t, 6) for t in out.event_hits_s],
        "verdict": None if out is None else out.verdict,
        "matched": None if out is None else out.matched,
        "delay_s": None if out is None else _r(out.delay_s),
        "false_alarm": None if out is None else out.false_alarm,
        "false_alarms_s": [] if out is None else [_r(t) for t in out.false_alarms_s],
        "frames": None if run is None else run.frames,
        "fps": None if run is None else _r(run.fps),
        "duration_s": None if out is None else _r(out.duration_s),
        "wall_s": None if run is None else _r(run.wall_s),
        "analysed_fps": None
        if run is None or run.wall_s <= 0
        else _r(run.frames / run.wall_s, 1),
        "stage_ms": {}
        if run is None
        else {k: _r(v, 1) for k, v in run.stage_ms.items()},
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
        "accuracy": _r(cm.accuracy),
        "precision": _r(cm.precision),
        "recall": _r(cm.recall),
        "confusion": {"tp": cm.tp, "fp": cm.fp, "fn": cm.fn, "tn": cm.tn},
        "boxes": s.box_totals(),
        "wall_s": _r(s.wall_s, 2),
        "cached": s.cached,
        "items": [
            {
                "image": o.name,
                "truth_fallen": o.truth_fallen,
                "predicted_fallen": o.predicted_fallen,
                "max_down_score": _r(o.max_down_score),
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
            "wall_s": _r(sp.wall_s, 2),
            "video_s": _r(sp.video_s, 1),
            "frames_per_s": _r(sp.frames_per_s, 1),
            "x_realtime": _r(sp.x_realtime, 2),
            "cached_clips": sp.cached_clips,
        },
        "wall_s": _r(report.wall_s, 2),
        "failed_clips": [
            {"file": c.clip.file, "name": c.name, "error": c.error}
            for c in report.failed
        ],
        "clips": [_clip_json(c) for c in report.clips],
        "images": None if report.stills is None else _stills_json(report.stills),
        "leave_one_source_out": None if report.loso is None else loso_json(report.loso),
    }


def write_json(report: EvalReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(report), indent=1) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------- text
def clip_line(c: ClipResult) -> str:
    """One printed line per clip, written as soon as the clip is done."""
    flags = _flags(c)
    tail = f"  [{flags}]" if flags else ""
    if c.error is not None or c.run is None or c.outcome is None:
        return f"  ERROR        {c.name}: {c.error}"
    out, run = c.outcome, c.run
    what = "fall" if out.is_fall else "no fall"
    alerts = ", ".join(f"{t:.2f}" for t in out.alerts_s) or "none"
    delay = f" delay {_s(out.delay_s, signed=True)}" if out.delay_s is not None else ""
    speed = f"{run.frames / run.wall_s:.0f} fps" if run.wall_s > 0 else ""
    return (
        f"  {out.verdict.upper():<12} {c.name}  ({what}; alerts s: {alerts}{delay}; "
        f"{run.frames} frames, {speed}){tail}"
    )


def _totals_lines(t: Totals) -> list[str]:
    if t.clips == 0:
        return ["  no clips"]
    return [
        (
            f"  falls alerted while down: {t.falls_alerted}/{t.fall_clips} ({_pct(t.fall_recall)}); "
            f"delay after down_from_s: median {_s(t.delay_median_s, True)}, max {_s(t.delay_max_s, True)}"
        ),
        *(
            [
                f"  falls (events; some clips hold several): {t.fall_events_alerted}/{t.fall_events} "
                f"alerted ({_pct(t.event_recall)})"
            ]
            if t.fall_events != t.fall_clips
            else []
        ),
        (
            f"  false alarms: {t.false_alarms} alert(s) on {t.false_alarm_clips} clip(s): "
            f"{t.no_fall_clips_alerted}/{t.no_fall_clips} no-fall clips alerted, "
            f"{t.false_alarms_on_fall_clips} alert(s) outside the down window on fall clips; "
            f"{_r(t.false_alarms_per_hour, 1) if t.false_alarms_per_hour is not None else '-'} per hour "
            f"of video ({t.video_s / 60:.1f} min)"
        ),
        f"  hard negatives alerted: {t.hard_negatives_alerted}/{t.hard_negative_clips}",
    ]


SOURCE_COLUMNS = ("clips", "falls alerted", "no-fall alerted", "false alarms", "uncertain")


def _source_cells(t: Totals, uncertain: Totals) -> tuple[str, ...]:
    return (
        str(t.clips),
        f"{t.fall_events_alerted}/{t.fall_events}",
        f"{t.no_fall_clips_alerted}/{t.no_fall_clips}",
        str(t.false_alarms),
        str(uncertain.clips),
    )


def source_table(
    rows: Sequence[SourceTotals], total: Totals, uncertain_total: Totals
) -> list[str]:
    """Text table, one line per source and a total: certain clips only.

    `falls alerted` counts falls (events, one per fall clip unless it lists several) alerted
    in their own window; `no-fall alerted` counts no-fall clips with any alert; `false
    alarms` counts alerts outside every window, fall clips included; `uncertain` is the
    number of the source's clips left out.
    """
    width = max([len("total"), *(len(r.source) for r in rows)])
    widths = [max(len(h), 7) for h in SOURCE_COLUMNS]

    def line(name: str, cells: Sequence[str]) -> str:
        return f"  {name:<{width}}" + "".join(
            f"  {c:>{w}}" for c, w in zip(cells, widths, strict=True)
        )

    return [
        line("source", SOURCE_COLUMNS),
        *(line(r.source, _source_cells(r.headline, r.uncertain)) for r in rows),
        line("total", _source_cells(total, uncertain_total)),
    ]


def source_table_md(
    rows: Sequence[SourceTotals], total: Totals, uncertain_total: Totals
) -> list[str]:
    """`source_table` as Markdown."""
    return [
        "| source | " + " | ".join(SOURCE_COLUMNS) + " |",
        "|---" * (len(SOURCE_COLUMNS) + 1) + "|",
        *(
            f"| {r.source} | " + " | ".join(_source_cells(r.headline, r.uncertain)) + " |"
            for r in rows
        ),
        "| **total** | " + " | ".join(_source_cells(total, uncertain_total)) + " |",
    ]


def render_text(report: EvalReport) -> str:
    """The summary printed after the per-clip lines."""
    st = report.settings
    lines = [
        "",
        (
            f"Settings: confirm_s={st['confirm_s']} ({st['confirm_s_note']}), "
            f"found_down_s={st['found_down_s']}, detector={st['detector']}, "
            f"window tolerance +-{st['window_tolerance_s']} s, fallwatch {st['fallwatch_version']}"
        ),
        f"Headline ({report.headline.clips} clips; uncertain clips excluded):",
        *_totals_lines(report.headline),
    ]
    missed = [
        c.name
        for c in report.clips
        if c.outcome is not None
        and c.outcome.is_fall
        and not c.outcome.matched
        and not c.clip.uncertain
    ]
    if missed:
        lines.append(f"  missed falls: {', '.join(missed)}")
    alarmed = [
        c.name
        for c in report.clips
        if c.outcome is not None and c.outcome.false_alarm and not c.clip.uncertain
    ]
    if alarmed:
        lines.append(f"  clips with false alarms: {', '.join(alarmed)}")
    lines += [
        f"Uncertain clips, reported apart ({report.uncertain.clips}):",
        *_totals_lines(report.uncertain),
        "Per source (certain clips; falls alerted = falls alerted in their down window / "
        "falls, no-fall alerted = no-fall clips with an alert / no-fall clips):",
        *source_table(report.sources, report.headline, report.uncertain),
    ]
    if report.stills is not None:
        s = report.stills
        cm = s.confusion
        b = s.box_totals()
        lines += [
            (
                f"Stills ({len(s.judged)} judged, {len(s.errors)} errors; fallen = any person "
                f"scoring >= down_enter {s.down_enter}):"
            ),
            (
                f"  accuracy {_pct(cm.accuracy)}, precision {_pct(cm.precision)}, recall "
                f"{_pct(cm.recall)}; TP {cm.tp} FP {cm.fp} FN {cm.fn} TN {cm.tn}"
            ),
            (
                f"  boxes: fallen {b['fall_boxes']} (found {b['fall_boxes_found']}, judged down "
                f"{b['fall_boxes_down']}); sit/stand {b['upright_boxes']} (found "
                f"{b['upright_boxes_found']}, judged down {b['upright_boxes_down']})"
            ),
        ]
    sp = report.speed
    if sp.frames:
        lines.append(
            f"Speed: {sp.frames} frames in {sp.wall_s:.1f} s = {sp.frames_per_s:.1f} frames/s "
            f"analysed, {sp.x_realtime:.2f}x real time"
            + (
                f" ({sp.cached_clips} clips replayed from cache not counted)"
                if sp.cached_clips
                else ""
            )
        )
    elif sp.cached_clips:
        lines.append(
            f"Speed: all {sp.cached_clips} clips replayed from cache; no detector speed measured"
        )
    lines.append(f"Total time: {report.wall_s:.1f} s")
    if report.failed:
        lines.append(
            f"FAILED: {len(report.failed)} clip(s) could not be analysed and are left out of the totals:"
        )
        lines += [f"  {c.name}: {c.error}" for c in report.failed]
    if report.stills is not None and report.stills.errors:
        lines.append(f"FAILED: {len(report.stills.errors)} still(s):")
        lines += [f"  {o.name}: {o.error}" for o in report.stills.errors[:10]]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- Markdown
def _md_totals(t: Totals) -> list[str]:
    return [
        "| measure | value |",
        "|---|---|",
        f"| clips | {t.clips} |",
        f"| falls alerted while down (clips) | {t.falls_alerted}/{t.fall_clips} ({_pct(t.fall_recall)}) |",
        f"| falls alerted while down (events) | {t.fall_events_alerted}/{t.fall_events} ({_pct(t.event_recall)}) |",
        f"| alert delay after down_from_s, median / max | {_s(t.delay_median_s, True)} / {_s(t.delay_max_s, True)} |",
        f"| false alarms (alerts) | {t.false_alarms} on {t.false_alarm_clips} clips |",
        f"| no-fall clips alerted | {t.no_fall_clips_alerted}/{t.no_fall_clips} |",
        f"| alerts outside the down window on fall clips | {t.false_alarms_on_fall_clips} |",
        f"| hard negatives alerted | {t.hard_negatives_alerted}/{t.hard_negative_clips} |",
        f"| false alarms per hour of video | {_r(t.false_alarms_per_hour, 1)} ({t.video_s / 60:.1f} min) |",
    ]


def render_markdown(report: EvalReport) -> str:
    st = report.settings
    sp = report.speed
    lines = [
        "# Fallwatch evaluation",
        "",
        (
            f"Manifest `{st['manifest']}`; fallwatch {st['fallwatch_version']}; detector "
            f"`{st['detector']}`; confirm_s {st['confirm_s']} ({st['confirm_s_note']}); found_down_s "
            f"{st['found_down_s']}; an alert is a hit between down_from_s - {st['window_tolerance_s']} s "
            f"and down_until_s + {st['window_tolerance_s']} s."
        ),
        "",
        "## Headline (uncertain clips excluded)",
        "",
        *_md_totals(report.headline),
        "",
        "## Uncertain clips (reported apart)",
        "",
        *_md_totals(report.uncertain),
        "",
        "## Per source (certain clips)",
        "",
        "A source is the clip's `source.repo` in its manifest, else the manifest's label. "
        "Falls alerted: falls alerted in their down window / falls; no-fall alerted: no-fall "
        "clips with an alert / no-fall clips; uncertain: clips left out.",
        "",
        *source_table_md(report.sources, report.headline, report.uncertain),
        "",
        *([] if report.loso is None else render_loso_markdown(report.loso)),
    ]
    if report.stills is not None:
        s = report.stills
        cm = s.confusion
        b = s.box_totals()
        lines += [
            "## Stills",
            "",
            (
                f"{len(s.judged)} images judged ({len(s.errors)} errors); fallen = any person "
                f"scoring >= down_enter {s.down_enter}."
            ),
            "",
            "| accuracy | precision | recall | TP | FP | FN | TN |",
            "|---|---|---|---|---|---|---|",
            f"| {_pct(cm.accuracy)} | {_pct(cm.precision)} | {_pct(cm.recall)} | {cm.tp} | {cm.fp} | {cm.fn} | {cm.tn} |",
            "",
            (
                f"Boxes: fallen {b['fall_boxes']} (found {b['fall_boxes_found']}, judged down "
                f"{b['fall_boxes_down']}); sit/stand {b['upright_boxes']} (found "
                f"{b['upright_boxes_found']}, judged down {b['upright_boxes_down']})."
            ),
            "",
        ]
    lines += [
        "## Speed",
        "",
        (
            f"{sp.frames} frames in {sp.wall_s:.1f} s: {_r(sp.frames_per_s, 1)} frames/s, "
            f"{_r(sp.x_realtime, 2)}x real time; {sp.cached_clips} clips replayed from cache (not counted)."
        ),
        "",
        "## Clips",
        "",
        "| # | file | truth | verdict | alerts (s) | delay | flags |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in report.clips:
        lbl = c.clip.label
        truth = (
            "fall, down " + "; ".join(f"{f.down_from_s}-{f.down_until_s} s" for f in lbl.falls)
            if lbl.fall
            else "no fall"
        )
        if c.outcome is None:
            lines.append(
                f"| {c.index} | `{c.name}` | {truth} | ERROR: {c.error} | | | {_flags(c)} |"
            )
            continue
        alerts = ", ".join(f"{t:.2f}" for t in c.outcome.alerts_s)
        lines.append(
            f"| {c.index} | `{c.name}` | {truth} | {c.outcome.verdict} | {alerts} | "
            f"{_s(c.outcome.delay_s, True) if c.outcome.delay_s is not None else ''} | {_flags(c)} |"
        )
    if report.failed:
        lines += [
            "",
            f"**{len(report.failed)} clip(s) failed** and are left out of the totals.",
        ]
    return "\n".join(lines) + "\n"


def write_markdown(report: EvalReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_markdown(report), encoding="utf-8")


# ---------------------------------------------------------------------------- plots
def plot_name(file: str) -> str:
    """A flat PNG name for a manifest `file` (folders joined with `__`)."""
    flat = posixpath.normpath(file.replace("\\", "/")).strip("/").replace("/", "__")
    return flat.rsplit(".", 1)[0] + ".png"


def plot_clip(c: ClipResult, down_enter: float, path: Path) -> None:
    """Timeline of the max down score against the labelled fall and down window."""
    # The object API with an Agg canvas: no pyplot global state, no display needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    assert c.run is not None and c.outcome is not None
    run, out, lbl = c.run, c.outcome, c.clip.label
    fig = Figure(figsize=(9, 3), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(
        run.times_s,
        run.max_down_score,
        color="tab:blue",
        lw=1.2,
        label="max down score",
    )
    ax.axhline(down_enter, color="grey", ls=":", lw=1, label=f"down_enter {down_enter}")
    end_s = max(out.duration_s, float(run.times_s[-1]) if run.frames else 0.0)
    for k, (fall, window) in enumerate(zip(lbl.falls, out.windows_s, strict=True)):
        until = end_s if fall.down_until_s == "end" else float(fall.down_until_s)
        ax.axvspan(
            fall.down_from_s,
            until,
            color="tab:red",
            alpha=0.15,
            label="down (truth)" if k == 0 else None,
        )
        ax.axvspan(
            window[0],
            fall.down_from_s,
            color="tab:red",
            alpha=0.05,
            label="tolerance" if k == 0 else None,
        )
        if fall.fall_start_s is not None:
            ax.axvline(
                fall.fall_start_s,
                color="tab:orange",
                ls="--",
                lw=1.2,
                label="fall start" if k == 0 else None,
            )
    if lbl.person_on_floor and lbl.on_floor_from_s is not None:
        floor_until = lbl.on_floor_until_s
        until = float(floor_until) if isinstance(floor_until, int | float) else end_s
        ax.axvspan(
            lbl.on_floor_from_s,
            until,
            color="grey",
            alpha=0.15,
            label="on floor (not a fall)",
        )
    for k, a in enumerate(run.alerts):
        hit = (
            out.hit_s is not None
            and a.t_s in out.alerts_s
            and a.t_s not in out.false_alarms_s
        )
        ax.axvline(
            a.t_s,
            color="tab:green" if hit else "tab:red",
            lw=2,
            label=f"alert ({a.kind})" if k == 0 else None,
        )
    ax.set_xlim(0, max(end_s, 1e-3))
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("time from first frame (s)")
    ax.set_ylabel("down score")
    flags = _flags(c)
    ax.set_title(
        f"{c.name}: {out.verdict}" + (f" [{flags}]" if flags else ""), fontsize=9
    )
    ax.legend(loc="upper left", fontsize=7, ncol=3)
    if not np.isfinite(run.max_down_score).any():
        ax.text(
            0.5,
            0.5,
            "nobody tracked",
            transform=ax.transAxes,
            ha="center",
            color="grey",
        )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
