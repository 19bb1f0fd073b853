from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fallwatch.config.detector import PoseDetectorConfig
from fallwatch.config.fall import FallConfig
from fallwatch.detect.registry import build_detector
from fallwatch.evaluation.manifest import load_manifest
from fallwatch.evaluation.stills import StillsEvaluator, match_boxes, read_yolo_labels


def test_read_yolo_labels_in_pixels(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("0 0.5 0.5 0.5 0.25\n\n2 0.25 0.5 0.1 1.0\n")
    boxes = read_yolo_labels(path, (200, 100))
    assert [b.class_id for b in boxes] == [0, 2]
    assert boxes[0].xyxy == pytest.approx((50, 37.5, 150, 62.5))
    assert boxes[1].xyxy == pytest.approx((40, 0, 60, 100))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0 0.5 0.5 0.5\n", r"a.txt:1: .*expected 5 fields, got 4"),
        ("0 0.5 0.5 0.5 0.5\nx 1 1 1 1\n", r"a.txt:2:"),
    ],
)
def test_read_yolo_labels_names_the_bad_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "a.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_yolo_labels(path, (10, 10))


def test_match_boxes_one_to_one_best_first() -> None:
    truth = np.array([[0, 0, 10, 10], [100, 100, 110, 110], [0, 0, 9, 9]], np.float32)
    found = np.array([[1, 1, 10, 10], [50, 50, 60, 60]], np.float32)
    assert match_boxes(truth, found, 0.3) == {0: 0}
    assert match_boxes(truth[:0], found, 0.3) == {}


def test_stills_on_real_images(tmp_path: Path, falls_data: Path, falls_manifest: dict) -> None:
    images = falls_manifest["images"]
    fallen = [i for i in images["items"] if i["classes_present"] == ["Fall-Action"]][:2]
    standing = [i for i in images["items"] if i["classes_present"] == ["Stand"]][:2]
    (tmp_path / "images").symlink_to(falls_data / "images")
    broken = {"image": "images/missing.jpg", "label": "labels/missing.txt"}
    path = tmp_path / "manifest.json"
    path.write_text(
        json.dumps({"videos": [], "images": {**images, "items": [*fallen, *standing, broken]}})
    )
    manifest = load_manifest(path)
    assert manifest.images is not None
    evaluator = StillsEvaluator(build_detector(PoseDetectorConfig()), FallConfig())
    result = evaluator.evaluate(manifest, manifest.images.items)
    assert [o.truth_fallen for o in result.judged] == [True, True, False, False]
    assert len(result.errors) == 1 and "no such image" in (result.errors[0].error or "")
    assert result.confusion.total == 4
    assert all(o.people >= 1 for o in result.judged), "the detector finds someone in each"
    assert result.box_totals()["fall_boxes"] == 2 and result.box_totals()["upright_boxes"] == 2
