"""Configuration: pydantic sections, one module per section."""

from fallwatch.config.detector import DetectorConfig, PoseDetectorConfig
from fallwatch.config.fall import FallConfig, ZoneConfig

__all__ = ["DetectorConfig", "FallConfig", "PoseDetectorConfig", "ZoneConfig"]
