"""Named detector set-ups for the command line (`--detector pose|yolo|hybrid`)."""

from __future__ import annotations

from fallwatch.config import detector as det

DETECTOR_PRESETS = ("pose", "yolo", "hybrid")


def preset_detector_config(name: str) -> det.DetectorConfig:
    """Default config of a detector plugin by name; the YOLO ones use the ready `hfd` model."""
    if name == "pose":
        return det.PoseDetectorConfig()
    if name == "yolo":
        return det.YoloDetectorConfig(format="hfd")
    if name == "hybrid":
        return det.HybridDetectorConfig(yolo=det.YoloDetectorConfig(format="hfd"))
    raise ValueError(f"unknown detector {name!r}; choose one of {', '.join(DETECTOR_PRESETS)}")
