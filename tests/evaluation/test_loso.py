"""Leave-one-source-out folding, the rule grid fitter, and replay from memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fallwatch.config.fall import FallConfig
from fallwatch.evaluation.loso import (
    ClipRunInput,
    ReplayMemo,
    RuleGridFitter,
    leave_one_source_out,
    loso_json,
    pooled,
    render_loso_markdown,
    render_loso_text,
)
from fallwatch.evaluation.manifest import Clip
from fallwatch.evaluation.runner import ClipRunner, Detections
from fallwatch.types import Poses
from tests.fakes.evaluation import make_clip


def make_input(name: str, source: str, fall: bool = True, uncertain: bool = False) -> ClipRunInput:
    """A 7 s clip (fall: down from 2 s to the end) with 10 frames of nobody."""
    entry = make_clip(f"videos/{name}.mp4") if fall else make_clip(f"videos/{name}.mp4", fall=False)
    clip = Clip.model_validate({**entry, "uncertain": uncertain})
    times = np.arange(10, dtype=np.float64) * 0.7
    detections = Detections(10 / 7.0, (64, 48), times, [Poses.empty() for _ in times])
    return ClipRunInput(f"m/{name}", source, clip, Path(f"videos/{name}.mp4"), detections)


@dataclass(frozen=True)
class AlertOnFalls:
    """Alerts at 3 s on every fall clip it was not told to miss."""

    description: str
    miss: frozenset[str] = frozenset()

    def alerts_s(self, clip: ClipRunInput) -> Sequence[float]:
        return [3.0] if clip.clip.label.fall and clip.name not in self.miss else []


@dataclass
class RecordingFitter:
    """Remembers the sources of every training set it is given."""

    name: str = "recording"
    seen: list[set[str]] = field(default_factory=list)

    def fit(self, train: Sequence[ClipRunInput]) -> AlertOnFalls:
        sources = {c.source for c in train}
        self.seen.append(sources)
        return AlertOnFalls("trained on " + ",".join(sorted(sources)))


CLIPS = [
    make_input("a1", "A"),
    make_input("a2", "A", fall=False),
    make_input("b1", "B"),
    make_input("b2", "B", uncertain=True),
    make_input("c1", "C", fall=False),
]


def test_the_held_out_source_is_never_in_its_training_set() -> None:
    fitter = RecordingFitter()
    result = leave_one_source_out(CLIPS, fitter)
    assert [f.source for f in result.folds] == ["A", "B", "C"]
    # One fit per fold, then one on everything for the in-sample figure.
    assert fitter.seen == [{"B", "C"}, {"A", "C"}, {"A", "B"}, {"A", "B", "C"}]
    for fold in result.folds:
        assert fold.source not in fold.train_sources
        assert fold.model == "trained on " + ",".join(fold.train_sources)
        assert {s.clip.source for s in fold.scored} == {fold.source}
    # Every clip is scored exactly once across the folds.
    assert sorted(s.clip.name for f in result.folds for s in f.scored) == sorted(
        c.name for c in CLIPS
    )
    assert result.in_sample_model == "trained on A,B,C"


def test_pooled_totals_and_uncertain_apart() -> None:
    result = leave_one_source_out(CLIPS, RecordingFitter())
    t = pooled(result)
    assert (t.clips, t.fall_events_alerted, t.fall_events, t.no_fall_clips) == (4, 2, 2, 2)
    assert pooled(result, uncertain=True).clips == 1
    text = "\n".join(render_loso_text(result))
    assert "LEAVE-ONE-SOURCE-OUT" in text and "IN-SAMPLE" in text
    assert "LOSO figure: falls alerted 2/2" in text and "in-sample figure" in text
    data = loso_json(result)
    assert [f["source"] for f in data["folds"]] == ["A", "B", "C"]
    assert data["folds"][0]["train_sources"] == ["B", "C"]
    assert data["totals"]["fall_events_alerted"] == 2
    assert any("| **total** |" in line for line in render_loso_markdown(result))


def test_one_source_is_not_enough() -> None:
    with pytest.raises(ValueError, match="at least 2 sources, got 1"):
        leave_one_source_out([c for c in CLIPS if c.source == "A"], RecordingFitter())


class ScriptedMemo(ReplayMemo):
    """Alerts as a function of the rule setting, without replaying anything."""

    def __init__(self, script: Any) -> None:
        super().__init__()
        self.script = script

    def alerts_s(self, clip: ClipRunInput, config: FallConfig) -> tuple[float, ...]:
        return tuple(self.script(clip, config))


def _fall_alerted_if(cond: Any) -> Any:
    def script(clip: ClipRunInput, config: FallConfig) -> list[float]:
        return [3.0] if cond(clip, config) else []

    return script


def test_grid_fitter_picks_the_best_objective() -> None:
    # Lower down_enter alerts the falls, but below 0.55 it also alerts no-fall clips:
    # 0.55 wins (2 falls, no false page) over 0.5 (2 falls - 2 x 1 no-fall clip).
    def cond(clip: ClipRunInput, config: FallConfig) -> bool:
        if clip.clip.label.fall:
            return config.down_enter <= 0.55
        return config.down_enter < 0.55

    fitter = RuleGridFitter(FallConfig(confirm_s=1.5), memo=ScriptedMemo(_fall_alerted_if(cond)))
    model = fitter.fit(CLIPS)
    assert (model.config.down_enter, model.config.down_exit) == (0.55, 0.35)
    # confirm_ratio did not matter: the tie goes to the default, 0.8; confirm_s is kept.
    assert model.config.confirm_ratio == 0.8 and model.config.confirm_s == 1.5
    # 3 confirm_ratio values tie at 0.55 (2 falls alerted, no no-fall clip).
    assert model.description == "down_enter=0.55 confirm_ratio=0.8 (objective 2, 3 of 15 tied)"


def test_grid_fitter_keeps_the_defaults_when_nothing_changes() -> None:
    fitter = RuleGridFitter(FallConfig(), memo=ScriptedMemo(lambda clip, config: []))
    model = fitter.fit(CLIPS)
    assert (model.config.down_enter, model.config.confirm_ratio) == (0.6, 0.8)


def test_grid_fitter_ignores_uncertain_training_clips() -> None:
    # Only the uncertain fall b2 is alerted at confirm_ratio 0.9: no reason to move.
    def cond(clip: ClipRunInput, config: FallConfig) -> bool:
        return clip.name == "m/b2" and config.confirm_ratio == 0.9

    fitter = RuleGridFitter(FallConfig(), memo=ScriptedMemo(_fall_alerted_if(cond)))
    assert fitter.fit(CLIPS).config.confirm_ratio == 0.8


def test_grid_candidates_keep_the_hysteresis() -> None:
    fitter = RuleGridFitter(FallConfig(confirm_s=2.0))
    assert len(fitter.candidates) == 15
    assert {round(c.down_enter - c.down_exit, 6) for c in fitter.candidates} == {0.2}
    assert {c.confirm_s for c in fitter.candidates} == {2.0}


def test_replay_memo_replays_each_clip_and_setting_once() -> None:
    memo = ReplayMemo()
    clip = make_input("a1", "A")
    assert memo.alerts_s(clip, FallConfig()) == ()  # nobody in the frames: no alert
    memo.alerts_s(clip, FallConfig())
    memo.alerts_s(clip, FallConfig(down_enter=0.7))
    assert memo.replays == 2


def test_replay_only_runner_never_decodes(tmp_path: Path) -> None:
    clip = make_input("a1", "A")
    run = ClipRunner(None, FallConfig()).replay(clip.detections, clip.path)
    assert run.cached and run.frames == 10 and run.alerts_s == []
    with pytest.raises(ValueError, match="no detector to run"):
        ClipRunner(None, FallConfig()).run(tmp_path / "x.mp4")
