"""An evaluation's report for people: the printed summary and the Markdown report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fallwatch.evaluation.loso import render_loso_markdown
from fallwatch.evaluation.report import (
    ClipResult,
    EvalReport,
    SourceTotals,
    clip_flags,
    rounded,
)
from fallwatch.evaluation.runner import Speed
from fallwatch.evaluation.scoring import Totals
from fallwatch.evaluation.stills import StillsResult


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def _s(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "-"
    return f"{x:+.2f} s" if signed else f"{x:.2f} s"


# ---------------------------------------------------------------------------- text
def clip_line(c: ClipResult) -> str:
    """One printed line per clip, written as soon as the clip is done."""
    flags = clip_flags(c)
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
            f"{rounded(t.false_alarms_per_hour, 1) if t.false_alarms_per_hour is not None else '-'} per hour "
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


def source_table(rows: Sequence[SourceTotals], total: Totals, uncertain_total: Totals) -> list[str]:
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


def _settings_line(st: dict[str, object]) -> str:
    return (
        f"Settings: confirm_s={st['confirm_s']} ({st['confirm_s_note']}), "
        f"found_down_s={st['found_down_s']}, detector={st['detector']}, "
        f"window tolerance +-{st['window_tolerance_s']} s, fallwatch {st['fallwatch_version']}"
    )


def _headline_lines(report: EvalReport) -> list[str]:
    """The headline's totals, then the certain clips that missed a fall or alarmed falsely."""
    lines = [
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
    return lines


def _boxes_text(s: StillsResult) -> str:
    b = s.box_totals()
    return (
        f"fallen {b['fall_boxes']} (found {b['fall_boxes_found']}, judged down "
        f"{b['fall_boxes_down']}); sit/stand {b['upright_boxes']} (found "
        f"{b['upright_boxes_found']}, judged down {b['upright_boxes_down']})"
    )


def _stills_lines(s: StillsResult) -> list[str]:
    cm = s.confusion
    return [
        (
            f"Stills ({len(s.judged)} judged, {len(s.errors)} errors; fallen = any person "
            f"scoring >= down_enter {s.down_enter}):"
        ),
        (
            f"  accuracy {_pct(cm.accuracy)}, precision {_pct(cm.precision)}, recall "
            f"{_pct(cm.recall)}; TP {cm.tp} FP {cm.fp} FN {cm.fn} TN {cm.tn}"
        ),
        f"  boxes: {_boxes_text(s)}",
    ]


def _speed_lines(sp: Speed) -> list[str]:
    if sp.frames:
        return [
            f"Speed: {sp.frames} frames in {sp.wall_s:.1f} s = {sp.frames_per_s:.1f} frames/s "
            f"analysed, {sp.x_realtime:.2f}x real time"
            + (
                f" ({sp.cached_clips} clips replayed from cache not counted)"
                if sp.cached_clips
                else ""
            )
        ]
    if sp.cached_clips:
        return [
            f"Speed: all {sp.cached_clips} clips replayed from cache; no detector speed measured"
        ]
    return []


def _failure_lines(report: EvalReport) -> list[str]:
    lines = []
    if report.failed:
        lines.append(
            f"FAILED: {len(report.failed)} clip(s) could not be analysed and are left out of the totals:"
        )
        lines += [f"  {c.name}: {c.error}" for c in report.failed]
    if report.stills is not None and report.stills.errors:
        lines.append(f"FAILED: {len(report.stills.errors)} still(s):")
        lines += [f"  {o.name}: {o.error}" for o in report.stills.errors[:10]]
    return lines


def render_text(report: EvalReport) -> str:
    """The summary printed after the per-clip lines."""
    lines = [
        "",
        _settings_line(report.settings),
        *_headline_lines(report),
        f"Uncertain clips, reported apart ({report.uncertain.clips}):",
        *_totals_lines(report.uncertain),
        "Per source (certain clips; falls alerted = falls alerted in their down window / "
        "falls, no-fall alerted = no-fall clips with an alert / no-fall clips):",
        *source_table(report.sources, report.headline, report.uncertain),
    ]
    if report.stills is not None:
        lines += _stills_lines(report.stills)
    lines += _speed_lines(report.speed)
    lines.append(f"Total time: {report.wall_s:.1f} s")
    lines += _failure_lines(report)
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
        f"| false alarms per hour of video | {rounded(t.false_alarms_per_hour, 1)} ({t.video_s / 60:.1f} min) |",
    ]


def _md_settings(st: dict[str, object]) -> str:
    return (
        f"Manifest `{st['manifest']}`; fallwatch {st['fallwatch_version']}; detector "
        f"`{st['detector']}`; confirm_s {st['confirm_s']} ({st['confirm_s_note']}); found_down_s "
        f"{st['found_down_s']}; an alert is a hit between down_from_s - {st['window_tolerance_s']} s "
        f"and down_until_s + {st['window_tolerance_s']} s."
    )


def _md_stills(s: StillsResult) -> list[str]:
    cm = s.confusion
    return [
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
        f"Boxes: {_boxes_text(s)}.",
        "",
    ]


def _md_speed(sp: Speed) -> list[str]:
    return [
        "## Speed",
        "",
        (
            f"{sp.frames} frames in {sp.wall_s:.1f} s: {rounded(sp.frames_per_s, 1)} frames/s, "
            f"{rounded(sp.x_realtime, 2)}x real time; {sp.cached_clips} clips replayed from cache (not counted)."
        ),
        "",
    ]


def _md_clip_row(c: ClipResult) -> str:
    lbl = c.clip.label
    truth = (
        "fall, down " + "; ".join(f"{f.down_from_s}-{f.down_until_s} s" for f in lbl.falls)
        if lbl.fall
        else "no fall"
    )
    if c.outcome is None:
        return f"| {c.index} | `{c.name}` | {truth} | ERROR: {c.error} | | | {clip_flags(c)} |"
    alerts = ", ".join(f"{t:.2f}" for t in c.outcome.alerts_s)
    return (
        f"| {c.index} | `{c.name}` | {truth} | {c.outcome.verdict} | {alerts} | "
        f"{_s(c.outcome.delay_s, True) if c.outcome.delay_s is not None else ''} | {clip_flags(c)} |"
    )


def render_markdown(report: EvalReport) -> str:
    lines = [
        "# Fallwatch evaluation",
        "",
        _md_settings(report.settings),
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
        lines += _md_stills(report.stills)
    lines += [
        *_md_speed(report.speed),
        "## Clips",
        "",
        "| # | file | truth | verdict | alerts (s) | delay | flags |",
        "|---|---|---|---|---|---|---|",
        *(_md_clip_row(c) for c in report.clips),
    ]
    if report.failed:
        lines += [
            "",
            f"**{len(report.failed)} clip(s) failed** and are left out of the totals.",
        ]
    return "\n".join(lines) + "\n"


def write_markdown(report: EvalReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_markdown(report), encoding="utf-8")
