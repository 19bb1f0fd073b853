"""Named detector set-ups for the command line (`--detector pose|yolo|hybrid`)."""

from __future__ import annotations

from fallwatch.config import detector as det

DETECTOR_PRESETS = ("pose", "yolo", "hybrid")


def preset_detector_config(name: str) -> det.DetectorConfig:
    """Default config of a detector plugin by name; the YOLO ones use the ready `hfd` model."""
    if name == "pose":
        return det.PoseDetectorConfig()
    yolo_cls = getattr(det, "YoloDetectorConfig", None)
    hybrid_cls = getattr(det, "HybridDetectorConfig", None)
    if name == "yolo" and yolo_cls is not None:
        return yolo_cls(format="hfd")  # type: ignore[no-any-return]
    if name == "hybrid" and hybrid_cls is not None and yolo_cls is not None:
        return hybrid_cls(yolo=yolo_cls(format="hfd"))  # type: ignore[no-any-return]
    raise ValueError(f"unknown detector {name!r}; choose one of {', '.join(DETECTOR_PRESETS)}")
