"""The yolo and hybrid detector config sections."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from fallwatch.config.detector import (
    DetectorConfig,
    HybridDetectorConfig,
    PoseDetectorConfig,
    YoloDetectorConfig,
)

DETECTOR = TypeAdapter(DetectorConfig)


def test_union_picks_the_section_by_type():
    assert isinstance(DETECTOR.validate_python({"type": "pose"}), PoseDetectorConfig)
    yolo = DETECTOR.validate_python({"type": "yolo", "format": "hfd"})
    assert isinstance(yolo, YoloDetectorConfig) and yolo.input_wh is None
    hybrid = DETECTOR.validate_python(
        {"type": "hybrid", "yolo": {"format": "onnx", "onnx_path": "m.onnx"}, "match_iou": 0.5}
    )
    assert isinstance(hybrid, HybridDetectorConfig)
    assert isinstance(hybrid.pose, PoseDetectorConfig) and hybrid.yolo.format == "onnx"
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        DETECTOR.validate_python({"type": "yolov3"})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"format": "darknet", "cfg_path": "a.cfg"}, "needs names_path, weights_path"),
        ({"format": "onnx"}, "needs onnx_path"),
        ({"format": "hfd", "onnx_path": "m.onnx"}, "does not use onnx_path"),
        (
            {
                "format": "darknet",
                "cfg_path": "a",
                "weights_path": "b",
                "names_path": "c",
                "onnx_path": "d",
            },
            "does not use onnx_path",
        ),
        ({"format": "tflite"}, "format"),
        ({"format": "hfd", "input_wh": (320, 300)}, "multiples of 32"),
        ({"format": "hfd", "min_score": 1.5}, "less than or equal to 1"),
        ({"format": "hfd", "nms_iou": 0}, "greater than 0"),
        ({"format": "hfd", "fallen_classes": []}, "at least 1 item"),
        ({"format": "hfd", "person_classes": ["FALL"]}, r"\['fall'\] are in both"),
        ({"format": "hfd", "num_threads": 0}, "greater than or equal to 1"),
        ({"format": "hfd", "thresh": 0.5}, "Extra inputs are not permitted"),
    ],
)
def test_bad_yolo_sections_fail_at_load(fields, message):
    with pytest.raises(ValidationError, match=message):
        YoloDetectorConfig(**fields)


def test_hybrid_needs_a_yolo_section_and_a_sane_match_iou():
    with pytest.raises(ValidationError, match="yolo"):
        HybridDetectorConfig()
    with pytest.raises(ValidationError, match="match_iou"):
        HybridDetectorConfig(yolo={"format": "hfd"}, match_iou=0)


@pytest.mark.parametrize("section", [YoloDetectorConfig, HybridDetectorConfig])
def test_every_field_is_described(section):
    schema = section.model_json_schema()
    undocumented = [k for k, v in schema["properties"].items() if not v.get("description")]
    assert undocumented == []
