"""The detector interface and the registry that builds one from config."""

from __future__ import annotations

from typing import Protocol

from fallwatch.config.detector import (
    DetectorConfig,
    HybridDetectorConfig,
    PoseDetectorConfig,
    YoloDetectorConfig,
)
from fallwatch.types import Frame, Poses


class Detector(Protocol):
    """Finds people in a frame. Implementations hold a loaded model."""

    name: str

    def detect(self, frame: Frame) -> Poses: ...


def build_detector(config: DetectorConfig) -> Detector:
    """Build the detector plugin that `config.type` names."""
    if isinstance(config, PoseDetectorConfig):
        from fallwatch.detect.pose import MoveNetDetector

        return MoveNetDetector(config)
    if isinstance(config, YoloDetectorConfig):
        from fallwatch.detect.yolo import YoloDetector

        return YoloDetector(config)
    if isinstance(config, HybridDetectorConfig):
        from fallwatch.detect.hybrid import HybridDetector

        return HybridDetector(config)
    raise ValueError(f"unknown detector type {getattr(config, 'type', config)!r}")
