"""The registry that builds the detector plugin a config names.

Apart from `base` so the plugins (the hybrid wraps a YOLO and a pose detector) can
import the interface without an import cycle through the registry.
"""

from __future__ import annotations

from fallwatch.config.detector import (
    DetectorConfig,
    HybridDetectorConfig,
    PoseDetectorConfig,
    YoloDetectorConfig,
)
from fallwatch.detect.base import Detector


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
