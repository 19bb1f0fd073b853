"""The detector interface every plugin implements (`detect.registry` builds them)."""

from __future__ import annotations

from typing import Protocol

from fallwatch.types import Frame, Poses


class Detector(Protocol):
    """Finds people in a frame. Implementations hold a loaded model."""

    name: str

    def detect(self, frame: Frame) -> Poses: ...
