"""Leave-one-source-out for the learned window scorer, scored as `fallwatch eval` scores.

For each source (`source.repo`), a model trained without that source's clips runs the
real clip-level decision (the rules with the model plugged in) on them, and the alerts
are scored by `fallwatch.evaluation.scoring`, beside the rules alone on the same clips.
Only clips whose label is certain count; uncertain ones are left to `fallwatch eval`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from fallwatch.config.fall import FallConfig
from fallwatch.evaluation.scoring import ClipOutcome, Totals, score_clip, summarize
from fallwatch.fall.sequence import Combine, SequenceModel, SequenceScorer
from fallwatch.training.dataset import ClipData, FloatArr, replay
from fallwatch.training.fit import train_model

Decision = tuple[Combine, float]
"""How the model joins the rules' down decision, and its p(fallen) threshold."""

FIGURE_KEYS = ("falls", "falls_alerted", "no_falls", "no_falls_alerted", "false_alarms")
"""The clip-level counts kept in the weights file's metadata, in this order."""


def figures(t: Totals) -> tuple[int, int, int, int, int]:
    """The counts a fold's table cell shows, in `FIGURE_KEYS` order."""
    return (t.fall_clips, t.falls_alerted, t.no_fall_clips, t.no_fall_clips_alerted, t.false_alarms)


def cell_text(t: Totals) -> str:
    falls, alerted, no_falls, no_falls_alerted, false_alarms = figures(t)
    return f"{alerted:>2}/{falls:<2} {no_falls_alerted:>2}/{no_falls:<2} {false_alarms:>3}"


@dataclass(frozen=True)
class Fold:
    source: str
    trained_on: frozenset[str]
    """Sources of the clips the fold's model was trained on (never `source`)."""
    rules_outcomes: tuple[ClipOutcome, ...]
    """The held-out certain clips judged on the rules' own alerts."""
    model_outcomes: dict[Decision, tuple[ClipOutcome, ...]]
    """The same clips judged on each decision's alerts."""
    changed: dict[Decision, list[str]]
    """Certain clips whose verdict the model changed: 'file: rules verdict -> model verdict'."""
    windows: tuple[FloatArr, FloatArr, FloatArr] = (np.zeros(0), np.zeros(0), np.zeros(0))
    """Held-out labelled windows: (label, model p, rules down score)."""

    @property
    def rules(self) -> Totals:
        return summarize(self.rules_outcomes)

    @property
    def model(self) -> dict[Decision, Totals]:
        return {d: summarize(o) for d, o in self.model_outcomes.items()}


def outcome(clip: ClipData, alerts_s: Sequence[float]) -> ClipOutcome:
    return score_clip(alerts_s, clip.label, clip.duration_s)


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


def _held_out_windows(
    model: SequenceModel, held: Sequence[ClipData]
) -> tuple[FloatArr, FloatArr, FloatArr]:
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


def _judge_decision(
    model: SequenceModel, decision: Decision, held: Sequence[ClipData]
) -> tuple[tuple[ClipOutcome, ...], list[str]]:
    """The held-out certain clips' outcomes under one decision, and the verdicts it changed."""
    combine, threshold = decision
    outcomes: list[ClipOutcome] = []
    changed: list[str] = []
    for c in held:
        if c.uncertain:
            continue  # replays are pure: skipping one changes no other clip's result
        config = FallConfig(confirm_s=c.confirm_s)
        alerts, _ = replay(c.detections, config, SequenceScorer(model, threshold, combine))
        after = outcome(c, alerts)
        outcomes.append(after)
        before = outcome(c, c.rules_alerts_s).verdict
        if before != after.verdict:
            changed.append(f"{c.file}: {before} -> {after.verdict}")
    return tuple(outcomes), changed


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
        rules = tuple(outcome(c, c.rules_alerts_s) for c in held if not c.uncertain)
        judged = {d: _judge_decision(model, d, held) for d in decisions}
        folds.append(
            Fold(
                source,
                frozenset(c.source for c in train),
                rules,
                {d: o for d, (o, _) in judged.items()},
                {d: ch for d, (_, ch) in judged.items()},
                _held_out_windows(model, held),
            )
        )
    return folds


def pooled(folds: Sequence[Fold], decision: Decision | None = None) -> Totals:
    """The folds' held-out clips together: the rules' (no decision) or a decision's."""
    if decision is None:
        return summarize([o for f in folds for o in f.rules_outcomes])
    return summarize([o for f in folds for o in f.model_outcomes[decision]])


def pooled_json(folds: Sequence[Fold], decisions: Sequence[Decision]) -> dict[str, dict[str, int]]:
    def fig(t: Totals) -> dict[str, int]:
        return dict(zip(FIGURE_KEYS, figures(t), strict=True))

    out = {"rules": fig(pooled(folds))}
    for d in decisions:
        out[f"{d[0]}@{d[1]:g}"] = fig(pooled(folds, d))
    return out


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


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
        cells = [cell_text(pooled([f]))] + [cell_text(pooled([f], d)) for d in decisions]
        lines.append(f"{f.source[:45]:<46}" + "".join(f"{x:<16}" for x in cells))
    groups = [(f"pooled {m}", src) for m, src in sorted(by_manifest.items())]
    groups.append(("pooled all", {f.source for f in folds}))
    for name, srcs in groups:
        sel = [f for f in folds if f.source in srcs]
        cells = [cell_text(pooled(sel))] + [cell_text(pooled(sel, d)) for d in decisions]
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
        lines.append(
            f"{d[0]}@{d[1]:g} changed {len(diffs)} certain clip(s) from the rules' verdict"
        )
        lines.extend(f"  {line}" for line in diffs)
    return "\n".join(lines)
