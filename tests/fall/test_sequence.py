"""The learned window scorer, its weights file, its hook in the rules and its training."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from fallwatch import cli
from fallwatch.config.detector import PoseDetectorConfig
from fallwatch.config.fall import FallConfig, SequenceModelConfig
from fallwatch.evaluation.manifest import ClipLabel
from fallwatch.evaluation.runner import Detections, PosesCache
from fallwatch.fall.classifier import FallClassifier
from fallwatch.fall.sequence import (
    FRAME_FEATURES,
    SequenceModel,
    SequenceScorer,
    fit_logistic,
    frame_features,
    window_feature_names,
    window_features,
)
from fallwatch.posture import posture_features
from fallwatch.track.tracker import PersonTracker
from fallwatch.training.dataset import ClipData
from fallwatch.training.loso import auc, figures, loso
from fallwatch.types import EventKind
from tests.fakes.poses import make_poses, person_keypoints

FPS = 12.0
FEET = (320.0, 420.0)
H = 300.0


def standing(sway_px: float = 0.0) -> np.ndarray:
    return person_keypoints((FEET[0] + sway_px, FEET[1]), H, 0.0)


def falling(progress: float) -> np.ndarray:
    return person_keypoints((FEET[0] - 140 * progress, FEET[1]), H, 90.0 * progress)


def fall_clip(stand_s: float = 3.0, fall_s: float = 0.5, down_s: float = 4.0) -> list[np.ndarray]:
    n_stand, n_fall, n_down = (round(s * FPS) for s in (stand_s, fall_s, down_s))
    return (
        [standing(5 * np.sin(k / 3)) for k in range(n_stand)]
        + [falling((k + 1) / n_fall) for k in range(n_fall)]
        + [falling(1.0) for _ in range(n_down)]
    )


def still_clip(seconds: float = 7.5) -> list[np.ndarray]:
    return [standing(8 * np.sin(k / 4)) for k in range(round(seconds * FPS))]


def windows_of(frames: list[np.ndarray], window_s: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """(times, window vectors) of one person through the rules' baseline."""
    d = len(window_feature_names())
    model = SequenceModel(np.zeros(d), 0.0, np.zeros(d), np.ones(d), window_s)
    scorer = SequenceScorer(model)
    clf = FallClassifier(FallConfig(confirm_s=2.0))
    tracker = PersonTracker()
    times, xs = [], []
    for k, kp in enumerate(frames):
        t = k / FPS
        poses = tracker.update(make_poses([kp]), t)
        f = posture_features(poses)
        person = clf._people.get(int(poses.track_ids[0]))
        base = None if person is None else person.baseline
        row = frame_features(
            f, 0, None if base is None else base.top_y, None if base is None else base.height_px
        )
        xs.append(scorer.window(int(poses.track_ids[0]), t, row))
        times.append(t)
        clf.update(poses, t)
    return np.asarray(times), np.stack(xs)


def tiny_model() -> SequenceModel:
    t, x_fall = windows_of(fall_clip())
    _, x_still = windows_of(still_clip())
    down = t >= 4.0
    x = np.concatenate([x_fall[down], x_still, x_fall[t < 2.5]])
    y = np.concatenate([np.ones(down.sum()), np.zeros(len(x_still) + int((t < 2.5).sum()))])
    w, b, mean, scale = fit_logistic(x, y)
    return SequenceModel(w, b, mean, scale, metadata={"command": "test"})


# ---------------------------------------------------------------- features and model
def test_window_features_tell_lying_from_standing() -> None:
    t, x = windows_of(fall_clip())
    names = window_feature_names()
    assert x.shape == (len(t), len(names))
    before, after = x[t < 2.5][-1], x[-1]
    assert after[names.index("body_angle.mean")] > 0.8
    assert before[names.index("body_angle.mean")] < 0.2
    assert after[names.index("top_drop.max")] > 0.5 > before[names.index("top_drop.max")]
    assert not np.allclose(before, after)


def test_window_features_mark_unseen_parts() -> None:
    rows = np.full((5, len(FRAME_FEATURES)), np.nan)
    rows[:, FRAME_FEATURES.index("aspect_wh")] = 0.5
    x = window_features(np.arange(5) / FPS, rows, 2.0)
    names = window_feature_names()
    assert x[names.index("body_angle.seen")] == 0.0
    assert x[names.index("aspect_wh.seen")] == 1.0
    assert np.isfinite(x).all()
    with pytest.raises(ValueError, match="at least one frame"):
        window_features([], np.zeros((0, len(FRAME_FEATURES))), 2.0)


def test_tiny_model_scores_lying_above_standing() -> None:
    model = tiny_model()
    t, x = windows_of(fall_clip())
    p = model.predict(x)
    assert p[t >= 5.0].min() > 0.5 > p[t < 2.5].max()


def test_weights_round_trip_and_metadata(tmp_path: Path) -> None:
    model = tiny_model()
    path = model.save(tmp_path / "m.json")
    again = SequenceModel.load(path)
    np.testing.assert_allclose(again.weights, model.weights, atol=1e-6)
    assert again.metadata == {"command": "test"}
    _, x = windows_of(fall_clip())
    np.testing.assert_allclose(again.predict(x), model.predict(x), atol=1e-4)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"format": 99}, "format"),
        ({"feature_names": ["a"]}, "other features"),
        ({"weights": [1.0]}, "weights must be"),
    ],
)
def test_bad_weights_file_is_refused(tmp_path: Path, edit: dict[str, object], message: str) -> None:
    data = {**tiny_model().to_json(), **edit}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=message):
        SequenceModel.load(path)
    with pytest.raises(ValueError, match="no such"):
        SequenceModel.load(tmp_path / "absent.json")


def test_shipped_weights_load_and_score_in_range() -> None:
    model = SequenceModel.load()
    meta = model.metadata
    assert meta["command"].startswith("fallwatch train ")
    assert all(len(sha) == 64 for sha in meta["data_version"].values())
    assert meta["trained_at"]
    _, x = windows_of(fall_clip())
    p = model.predict(x)
    assert ((p >= 0) & (p <= 1)).all()


# ---------------------------------------------------------------- the hook in the rules
def run_rules(
    frames: list[np.ndarray], config: FallConfig, sequence: SequenceScorer | None = None
) -> list[float]:
    tracker = PersonTracker()
    clf = FallClassifier(config, sequence=sequence)
    alerts = []
    for k, kp in enumerate(frames):
        t = k / FPS
        update = clf.update(tracker.update(make_poses([kp]), t), t)
        alerts += [e.t_s for e in update.events if e.kind == EventKind.FALL]
    return alerts


def test_silent_model_leaves_the_rules_alone() -> None:
    d = len(window_feature_names())
    silent = SequenceModel(np.zeros(d), -30.0, np.zeros(d), np.ones(d))
    config = FallConfig(confirm_s=2.0)
    frames = fall_clip()
    assert run_rules(frames, config, SequenceScorer(silent)) == run_rules(frames, config) != []
    # A model that never says down vetoes every alert when it must agree or decide alone.
    assert run_rules(frames, config, SequenceScorer(silent, combine="both")) == []
    assert run_rules(frames, config, SequenceScorer(silent, combine="model")) == []


def test_config_loads_the_shipped_model() -> None:
    config = FallConfig(confirm_s=2.0, sequence_model=SequenceModelConfig(combine="model"))
    assert FallClassifier(config)._sequence is not None
    run_rules(fall_clip(), config)  # runs end to end with the shipped weights
    with pytest.raises(ValueError, match="extra"):
        SequenceModelConfig(path=None, bogus=1)  # type: ignore[call-arg]


# ---------------------------------------------------------------- training
def run_train(args: list[str]) -> int:
    """The real CLI with only `train` registered, so a sibling command mid-edit cannot break it."""
    saved = cli.COMMAND_MODULES
    cli.COMMAND_MODULES = ("fallwatch.commands.train",)
    try:
        return cli.main(["train", *args])
    finally:
        cli.COMMAND_MODULES = saved


def _cached_manifest(root: Path, cache: PosesCache) -> Path:
    """Three sources, each a fall clip and a no-fall clip, detections in the cache."""
    videos = []
    for s in range(3):
        for name, frames, label in (
            (
                "fall",
                fall_clip(stand_s=3.0 + 0.25 * s),
                {
                    "fall": True,
                    "fall_start_s": 3.0 + 0.25 * s,
                    "down_from_s": 3.5 + 0.25 * s,
                    "down_until_s": "end",
                },
            ),
            ("still", still_clip(), {"fall": False}),
        ):
            file = f"videos/s{s}-{name}.mp4"
            (root / file).parent.mkdir(parents=True, exist_ok=True)
            (root / file).write_bytes(b"not decoded: the cache stands in for it")
            times = np.arange(len(frames)) / FPS
            cache.save(
                root / file, Detections(FPS, (640, 480), times, [make_poses([kp]) for kp in frames])
            )
            videos.append(
                {
                    "file": file,
                    "label": label,
                    "duration_s": len(frames) / FPS,
                    "source": {"repo": f"owner/src{s}"},
                }
            )
    path = root / "manifest.json"
    path.write_text(json.dumps({"videos": videos}))
    return path


def test_train_writes_a_weights_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache_dir = tmp_path / "cache"
    manifest = _cached_manifest(
        tmp_path / "data", PosesCache(cache_dir, PoseDetectorConfig(), 12.0)
    )
    out = tmp_path / "seq.json"
    code = run_train(
        [str(manifest), "--cache-dir", str(cache_dir), "--confirm-s", "2", "--out", str(out)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "owner/src1" in printed and "pooled all" in printed
    model = SequenceModel.load(out)
    meta = model.metadata
    assert meta["clips"] == 6 and meta["sources"] == 3
    assert meta["command"].startswith("fallwatch train ")
    assert list(meta["data_version"].values()) == [
        hashlib.sha256(manifest.read_bytes()).hexdigest()
    ]
    assert meta["loso_certain_clips"]["rules"]["falls"] == 3
    _, x = windows_of(fall_clip())
    assert model.predict(x[-1])[0] > model.predict(x[10])[0]


def test_train_rejects_mismatched_confirm_times(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({"videos": []}))
    code = run_train([str(manifest), "--cache-dir", str(tmp_path), "--confirm-s", "1", "2", "3"])
    assert code == 2
    assert "--confirm-s" in capsys.readouterr().err


def test_loso_never_trains_on_the_held_out_source() -> None:
    seen: list[set[str]] = []
    d = len(window_feature_names())

    def spy_fit(train: Sequence[ClipData]) -> SequenceModel:
        seen.append({c.source for c in train})
        return SequenceModel(np.zeros(d), -30.0, np.zeros(d), np.ones(d))

    times = np.arange(24) / FPS
    empty = Detections(FPS, (640, 480), times, [make_poses([]) for _ in times])
    clips = [
        ClipData(
            manifest="m",
            file=f"{s}-{k}.mp4",
            source=s,
            label=ClipLabel(fall=False),
            uncertain=False,
            duration_s=2.0,
            confirm_s=2.0,
            detections=empty,
            times_s=np.zeros(0),
            x=np.zeros((0, d)),
            y=np.zeros(0, np.int8),
            rules_alerts_s=(),
        )
        for s in ("a", "b", "c")
        for k in range(2)
    ]
    folds = loso(clips, [("either", 0.5)], spy_fit)
    assert [f.source for f in folds] == ["a", "b", "c"]
    assert seen == [{"b", "c"}, {"a", "c"}, {"a", "b"}]
    for f in folds:
        assert f.source not in f.trained_on
        # (falls, falls alerted, no-fall clips, no-fall clips alerted, false alarms)
        assert figures(f.rules) == (0, 0, 2, 0, 0)
        assert f.rules == f.model[("either", 0.5)]
        assert f.changed == {("either", 0.5): []}


def test_auc_counts_ties_half() -> None:
    y = np.array([1.0, 1.0, 0.0, 0.0, 0.0])
    assert auc(y, np.array([0.9, 0.5, 0.5, 0.1, 0.2])) == pytest.approx(5.5 / 6)
    assert auc(y, np.ones(5)) == 0.5
    assert auc(np.zeros(3), np.ones(3)) is None
