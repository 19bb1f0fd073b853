"""Leave-one-source-out: each source's figures from settings fitted without that source.

Thresholds chosen on the very clips they are scored on flatter the figures: a setting
that fits one room's quirks looks like skill. Here a `Fitter` sees every source but one,
the model it returns is scored on the held-out source, and the per-source rows and their
pooled total are the "LOSO" figures. The same fitter fitted on everything and scored on
everything gives the in-sample figure, printed beside it and labelled as such: the gap
between the two is how much the fit learnt the test clips.

Fits replay cached detections (`PosesCache`) from memory, so a fold takes seconds: the
detector never runs here. A fitter is anything with `fit(train) -> Model`; `FITTERS`
names those the command offers (`rules`: a grid over two rule thresholds). A learned
model plugs in the same way: its `Model.alerts_s` runs whatever it learnt over a clip.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from fallwatch.config.fall import FallConfig
from fallwatch.evaluation.manifest import Clip
from fallwatch.evaluation.runner import ClipRunner, Detections
from fallwatch.evaluation.scoring import ClipOutcome, Totals, score_clip, summarize


@dataclass(frozen=True)
class ClipRunInput:
    """One labelled clip with its detector output: what a fitter trains on and a model runs on."""

    name: str
    """Unique across manifests (`<manifest label>/<file>`)."""
    source: str
    clip: Clip
    path: Path
    detections: Detections

    @property
    def uncertain(self) -> bool:
        return self.clip.uncertain

    @property
    def duration_s(self) -> float:
        if self.clip.duration_s is not None:
            return self.clip.duration_s
        d = self.detections
        return len(d.times_s) / d.fps if d.fps > 0 else 0.0


class Model(Protocol):
    """Something fitted: raises alerts on a clip."""

    @property
    def description(self) -> str:
        """What was fitted, short, for tables (e.g. `down_enter=0.6 confirm_ratio=0.8`)."""
        ...

    def alerts_s(self, clip: ClipRunInput) -> Sequence[float]:
        """Alert times, seconds from the clip's first frame."""
        ...


class Fitter(Protocol):
    """Chooses a `Model` from training clips; must not look at any other clip."""

    name: str

    def fit(self, train: Sequence[ClipRunInput]) -> Model: ...


def score_model(model: Model, clips: Sequence[ClipRunInput]) -> list[ClipOutcome]:
    return [
        score_clip(model.alerts_s(c), c.clip.label, c.duration_s, uncertain=c.uncertain)
        for c in clips
    ]


# ---------------------------------------------------------------------------- rules
class ReplayMemo:
    """Alert times per (clip, rule setting): each replay happens once across all folds."""

    def __init__(self) -> None:
        self._alerts: dict[tuple[str, str], tuple[float, ...]] = {}
        self.replays = 0

    def alerts_s(self, clip: ClipRunInput, config: FallConfig) -> tuple[float, ...]:
        key = (clip.name, config.model_dump_json())
        if key not in self._alerts:
            run = ClipRunner(None, config).replay(clip.detections, clip.path)
            self._alerts[key] = tuple(run.alerts_s)
            self.replays += 1
        return self._alerts[key]


@dataclass(frozen=True)
class RulesModel:
    """The fall rules with one `FallConfig`, replayed over a clip's detections."""

    config: FallConfig
    memo: ReplayMemo = field(default_factory=ReplayMemo, compare=False, repr=False)
    note: str = ""
    """How the fit went, e.g. `objective 12, 3 of 15 tied`."""

    @property
    def description(self) -> str:
        text = f"down_enter={self.config.down_enter:g} confirm_ratio={self.config.confirm_ratio:g}"
        return f"{text} ({self.note})" if self.note else text

    def alerts_s(self, clip: ClipRunInput) -> Sequence[float]:
        return self.memo.alerts_s(clip, self.config)


DOWN_ENTER_GRID = (0.5, 0.55, 0.6, 0.65, 0.7)
CONFIRM_RATIO_GRID = (0.7, 0.8, 0.9)
DOWN_EXIT_GAP = 0.2
"""`down_exit = down_enter - 0.2`: the hysteresis of the defaults (0.6 / 0.4), kept."""
NO_FALL_ALERT_COST = 2
"""A no-fall clip alerted costs two falls alerted: a false page wears trust out faster."""


def fit_objective(totals: Totals) -> int:
    """Falls alerted - 2 x no-fall clips alerted (certain clips): higher is better."""
    return totals.fall_events_alerted - NO_FALL_ALERT_COST * totals.no_fall_clips_alerted


class RuleGridFitter:
    """Grid search over `down_enter` (with `down_exit` 0.2 below) and `confirm_ratio`.

    Every other setting, `confirm_s` included, stays as in `base`. The setting with the
    best `fit_objective` on the training clips whose label is certain wins; ties go to
    `base`'s own values, then to the setting nearest them (in grid steps), so a flat
    objective leaves the defaults alone rather than drifting to a grid corner.
    """

    name = "rules"

    def __init__(
        self,
        base: FallConfig,
        down_enter_grid: Sequence[float] = DOWN_ENTER_GRID,
        confirm_ratio_grid: Sequence[float] = CONFIRM_RATIO_GRID,
        memo: ReplayMemo | None = None,
    ):
        if not down_enter_grid or not confirm_ratio_grid:
            raise ValueError("the rule grid needs at least one down_enter and one confirm_ratio")
        self.base = base
        self.memo = memo or ReplayMemo()
        self.candidates = [
            FallConfig.model_validate(
                {
                    **base.model_dump(),
                    "down_enter": enter,
                    # Rounded: 0.55 - 0.2 would otherwise print as 0.35000000000000003.
                    "down_exit": round(max(enter - DOWN_EXIT_GAP, 0.0), 6),
                    "confirm_ratio": ratio,
                }
            )
            for enter in down_enter_grid
            for ratio in confirm_ratio_grid
        ]

    def _nearness(self, c: FallConfig) -> tuple[bool, float]:
        same = (c.down_enter, c.confirm_ratio) == (self.base.down_enter, self.base.confirm_ratio)
        steps = (
            abs(c.down_enter - self.base.down_enter) / 0.05
            + abs(c.confirm_ratio - self.base.confirm_ratio) / 0.1
        )
        return same, -steps

    def fit(self, train: Sequence[ClipRunInput]) -> RulesModel:
        certain = [c for c in train if not c.uncertain]
        best: tuple[Any, ...] | None = None
        chosen = self.candidates[0]
        objectives = []
        for config in self.candidates:
            model = RulesModel(config, self.memo)
            objective = fit_objective(summarize(score_model(model, certain)))
            objectives.append(objective)
            key = (objective, *self._nearness(config))
            if best is None or key > best:
                best, chosen = key, config
        top = max(objectives)
        # Said in the tables: a wide tie means the data did not pick these values.
        note = f"objective {top}, {objectives.count(top)} of {len(objectives)} tied"
        return RulesModel(chosen, self.memo, note)


FITTERS: dict[str, Callable[[FallConfig], Fitter]] = {"rules": RuleGridFitter}
"""`--fitter` name -> factory from the command line's `FallConfig`; a learned model
registers here too."""


# ---------------------------------------------------------------------------- folds
@dataclass(frozen=True)
class Scored:
    clip: ClipRunInput
    outcome: ClipOutcome


@dataclass(frozen=True)
class Fold:
    """One held-out source: what was fitted without it, and how its clips fared."""

    source: str
    train_sources: tuple[str, ...]
    model: str
    scored: list[Scored]


@dataclass(frozen=True)
class LosoResult:
    fitter: str
    folds: list[Fold]
    """One per source, in source name order."""
    in_sample_model: str
    in_sample: list[Scored]
    """Every clip scored with the model fitted on every clip."""


def sources_of(clips: Sequence[ClipRunInput]) -> list[str]:
    return sorted({c.source for c in clips}, key=str.casefold)


def leave_one_source_out(clips: Sequence[ClipRunInput], fitter: Fitter) -> LosoResult:
    """Fit without each source in turn and score that source; then fit and score on all."""
    sources = sources_of(clips)
    if len(sources) < 2:
        raise ValueError(
            f"leave-one-source-out needs clips from at least 2 sources, got {len(sources)}"
        )
    folds = []
    for held_out in sources:
        train = [c for c in clips if c.source != held_out]
        test = [c for c in clips if c.source == held_out]
        model = fitter.fit(train)
        folds.append(
            Fold(
                held_out,
                tuple(s for s in sources if s != held_out),
                model.description,
                [Scored(c, o) for c, o in zip(test, score_model(model, test), strict=True)],
            )
        )
    everything = fitter.fit(list(clips))
    in_sample = [Scored(c, o) for c, o in zip(clips, score_model(everything, clips), strict=True)]
    return LosoResult(fitter.name, folds, everything.description, in_sample)


# ---------------------------------------------------------------------------- output
def _totals(scored: Sequence[Scored], uncertain: bool = False) -> Totals:
    return summarize([s.outcome for s in scored if s.clip.uncertain == uncertain])


def _cells(t: Totals) -> tuple[str, str]:
    return (
        f"{t.fall_events_alerted}/{t.fall_events}",
        f"{t.no_fall_clips_alerted}/{t.no_fall_clips}",
    )


def _pct(x: float | None) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{100 * x:.0f}%"


LOSO_COLUMNS = (
    "fitted without it",
    "LOSO falls",
    "LOSO no-fall alerted",
    "in-sample falls",
    "in-sample no-fall alerted",
)


def _rows(result: LosoResult) -> list[tuple[str, ...]]:
    in_sample = {s.clip.name: s for s in result.in_sample}
    rows: list[tuple[str, ...]] = []
    for fold in result.folds:
        mine = [in_sample[s.clip.name] for s in fold.scored]
        rows.append(
            (fold.source, fold.model, *_cells(_totals(fold.scored)), *_cells(_totals(mine)))
        )
    return rows


def pooled(result: LosoResult, uncertain: bool = False) -> Totals:
    """The LOSO total: every source's clips scored by its own held-out fold."""
    return _totals([s for f in result.folds for s in f.scored], uncertain)


def render_loso_text(result: LosoResult) -> list[str]:
    loso, ins = pooled(result), _totals(result.in_sample)
    rows = _rows(result)
    total = ("total", f"(in-sample: {result.in_sample_model})", *_cells(loso), *_cells(ins))
    widths = [max(len(r[k]) for r in [("source", *LOSO_COLUMNS), *rows, total]) for k in range(6)]

    def line(cells: Sequence[str]) -> str:
        head = f"  {cells[0]:<{widths[0]}}  {cells[1]:<{widths[1]}}"
        return head + "".join(f"  {c:>{w}}" for c, w in zip(cells[2:], widths[2:], strict=True))

    unc_loso, unc_ins = pooled(result, uncertain=True), _totals(result.in_sample, True)
    return [
        "",
        f"LEAVE-ONE-SOURCE-OUT (fitter {result.fitter!r}; certain clips): each source is "
        "scored with settings fitted on the OTHER sources only.",
        "IN-SAMPLE beside it, for comparison only: fitted on all sources and scored on the "
        "same clips, so optimistic.",
        line(("source", *LOSO_COLUMNS)),
        *(line(r) for r in rows),
        line(total),
        (
            f"  LOSO figure: falls alerted {loso.fall_events_alerted}/{loso.fall_events} "
            f"({_pct(loso.event_recall)}), no-fall clips alerted {loso.no_fall_clips_alerted}/"
            f"{loso.no_fall_clips}, false alarms {loso.false_alarms}"
        ),
        (
            f"  in-sample figure (not a held-out estimate): falls alerted "
            f"{ins.fall_events_alerted}/{ins.fall_events} ({_pct(ins.event_recall)}), no-fall "
            f"clips alerted {ins.no_fall_clips_alerted}/{ins.no_fall_clips}, false alarms "
            f"{ins.false_alarms}"
        ),
        (
            f"  uncertain clips, apart: LOSO falls {_cells(unc_loso)[0]}, no-fall alerted "
            f"{_cells(unc_loso)[1]}; in-sample falls {_cells(unc_ins)[0]}, no-fall alerted "
            f"{_cells(unc_ins)[1]}"
        ),
    ]


def render_loso_markdown(result: LosoResult) -> list[str]:
    loso, ins = pooled(result), _totals(result.in_sample)
    return [
        f"## Leave-one-source-out (fitter `{result.fitter}`, certain clips)",
        "",
        "Each source is scored with settings fitted on the other sources only (LOSO). The "
        "in-sample columns fit and score on all clips: optimistic, for comparison only.",
        "",
        "| source | " + " | ".join(LOSO_COLUMNS) + " |",
        "|---" * (len(LOSO_COLUMNS) + 1) + "|",
        *("| " + " | ".join(r) + " |" for r in _rows(result)),
        f"| **total** | in-sample: {result.in_sample_model} | "
        + " | ".join((*_cells(loso), *_cells(ins)))
        + " |",
        "",
    ]


def _totals_brief(t: Totals) -> dict[str, Any]:
    return {
        "clips": t.clips,
        "fall_events": t.fall_events,
        "fall_events_alerted": t.fall_events_alerted,
        "fall_clips": t.fall_clips,
        "falls_alerted": t.falls_alerted,
        "no_fall_clips": t.no_fall_clips,
        "no_fall_clips_alerted": t.no_fall_clips_alerted,
        "false_alarms": t.false_alarms,
    }


def loso_json(result: LosoResult) -> dict[str, Any]:
    in_sample = {s.clip.name: s for s in result.in_sample}
    return {
        "fitter": result.fitter,
        "note": "each source scored with a model fitted on the other sources only; "
        "in_sample fits and scores on all clips (optimistic)",
        "totals": _totals_brief(pooled(result)),
        "uncertain_totals": _totals_brief(pooled(result, uncertain=True)),
        "in_sample": {
            "model": result.in_sample_model,
            "totals": _totals_brief(_totals(result.in_sample)),
            "uncertain_totals": _totals_brief(_totals(result.in_sample, True)),
        },
        "folds": [
            {
                "source": f.source,
                "model": f.model,
                "train_sources": list(f.train_sources),
                "totals": _totals_brief(_totals(f.scored)),
                "uncertain_totals": _totals_brief(_totals(f.scored, True)),
                "in_sample_totals": _totals_brief(
                    _totals([in_sample[s.clip.name] for s in f.scored])
                ),
                "clips": [
                    {
                        "name": s.clip.name,
                        "alerts_s": list(s.outcome.alerts_s),
                        "verdict": s.outcome.verdict,
                    }
                    for s in f.scored
                ],
            }
            for f in result.folds
        ],
    }
