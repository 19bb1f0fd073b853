"""The fall rules' thresholds and the tracker as config sections: described in the
schema, reachable from YAML, strict about unknown keys, and really used."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from fallwatch.config.errors import ConfigError
from fallwatch.config.fall import FallConfig
from fallwatch.config.fall_rules import FallRulesConfig, Span
from fallwatch.config.loader import config_schema, load_server_config
from fallwatch.config.track import TrackerConfig
from fallwatch.fall.classifier import FallClassifier
from fallwatch.pipeline.analyzer import Analyzer
from fallwatch.track.tracker import PersonTracker
from fallwatch.types import Frame, Poses

YAML = """\
cameras:
  - id: ward-1
    path: clip.mp4
    fall:
      rules:
        wide_aspect_wh: {lo: 1.5, hi: 3.0}
        alerted_memory_s: 30
      tracker:
        max_age_s: 0.5
        min_iou: 0.2
"""


class Boxes:
    """A detector giving the same boxes (no keypoints) on every frame."""

    name = "boxes"

    def __init__(self, poses: Poses) -> None:
        self.poses = poses

    def detect(self, frame: Frame) -> Poses:
        return self.poses


def wide_box() -> Poses:
    """A box half again as wide as tall, no skeleton: the rules judge it by its shape."""
    return Poses.create(xyxy=[[100.0, 200.0, 250.0, 300.0]], scores=[0.9])


@pytest.mark.parametrize("model", [FallRulesConfig, TrackerConfig])
def test_schema_describes_every_field(model: type[Any]) -> None:
    schema = config_schema()
    section = schema["$defs"][model.__name__]
    assert section["additionalProperties"] is False
    undescribed = [
        name for name, field in section["properties"].items() if not field.get("description")
    ]
    assert undescribed == []
    fall = schema["$defs"]["FallConfig"]["properties"]
    assert "rules" in fall and "tracker" in fall


def test_yaml_values_reach_the_tracker_and_the_classifier(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(YAML)
    fall = load_server_config(tmp_path / "config.yaml", env={}).cameras[0].fall
    assert fall.rules.alerted_memory_s == 30.0 and fall.tracker.max_age_s == 0.5
    analyzer = Analyzer(Boxes(wide_box()), fall, camera_id="ward-1")
    assert analyzer.tracker.config.min_iou == 0.2
    # The default ramp calls a 1.5 aspect box fully wide; the file's ramp starts there.
    image = np.zeros((480, 640, 3), np.uint8)
    result = analyzer.process(Frame(image=image, t_s=0.0, index=0, camera_id="ward-1"))
    assert result.update.tracks[0].down_score == 0.0
    assert FallClassifier(FallConfig()).down_scores(wide_box())[0] == pytest.approx(0.8)


def test_yaml_tracker_max_age_drops_a_track_sooner(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(YAML)
    fall = load_server_config(tmp_path / "config.yaml", env={}).cameras[0].fall
    short, default = PersonTracker(fall.tracker), PersonTracker()
    for tracker in (short, default):
        tracker.update(wide_box(), 0.0)
    assert short.update(wide_box(), 1.0).track_ids.tolist() == [2]
    assert default.update(wide_box(), 1.0).track_ids.tolist() == [1]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            "rules: {colour: red}",
            "cameras[ward-1].fall.rules.colour: Extra inputs are not permitted",
        ),
        (
            "tracker: {max_age: 3}",
            "cameras[ward-1].fall.tracker.max_age: Extra inputs are not permitted",
        ),
        (
            "rules: {floor_drop: {lo: 0.5, hi: 0.4}}",
            "fall.rules.floor_drop: hi (0.4) must be above lo (0.5)",
        ),
        ("tracker: {max_age_s: 0}", "fall.tracker.max_age_s: Input should be greater than 0"),
    ],
)
def test_bad_sections_are_refused_with_the_field_named(
    tmp_path: Path, text: str, says: str
) -> None:
    (tmp_path / "config.yaml").write_text(
        f"cameras:\n  - id: ward-1\n    path: clip.mp4\n    fall: {{{text}}}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_server_config(tmp_path / "config.yaml", env={})
    assert says in str(info.value)


def test_defaults_are_the_measured_values() -> None:
    rules = FallRulesConfig()
    assert rules.floor_drop == Span(lo=0.35, hi=0.5) and rules.floor_level == Span(lo=0.68, hi=0.8)
    assert (rules.fallen_agree_score, rules.descent_min_drop, rules.alerted_memory_s) == (
        0.4,
        0.4,
        120.0,
    )
    assert (rules.arm_support_max_deg, rules.arm_support_min_length) == (30.0, 0.6)
    assert TrackerConfig().max_age_s == 2.0
    with pytest.raises(ValidationError):
        FallRulesConfig(seated_drop={"lo": 0.5})  # type: ignore[arg-type]
