"""Default detector: MoveNet MultiPose Lightning on LiteRT."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from fallwatch.config.detector import PoseDetectorConfig
from fallwatch.detect.bundle import movenet_path
from fallwatch.detect.decoders.movenet import decode_movenet_multipose
from fallwatch.detect.letterbox import Letterbox, letterbox
from fallwatch.detect.runtimes.litert import LiteRTRuntime
from fallwatch.types import Frame, Poses


class MoveNetDetector:
    """Multi-person pose: up to 6 people, 17 COCO keypoints each."""

    name = "pose"

    def __init__(self, config: PoseDetectorConfig | None = None, model_path: Path | None = None):
        self.config = config or PoseDetectorConfig()
        w, h = self.config.input_wh
        self._runtime = LiteRTRuntime(
            model_path or movenet_path(), (1, h, w, 3), num_threads=self.config.num_threads
        )

    def detect(self, frame: Frame) -> Poses:
        tensor, box = self.preprocess(frame)
        return self.decode(self.infer(tensor), box)

    # The three steps are public so the benchmark can time them apart.
    def preprocess(self, frame: Frame) -> tuple[npt.NDArray[np.uint8], Letterbox]:
        """BGR frame -> letterboxed RGB uint8 tensor `[1, H, W, 3]` and its placement."""
        rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
        tensor, box = letterbox(rgb, self.config.input_wh)
        return tensor[np.newaxis], box

    def infer(self, tensor: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        (output,) = self._runtime.run(tensor)
        return output  # type: ignore[return-value]

    def decode(self, output: npt.NDArray[np.float32], box: Letterbox) -> Poses:
        return decode_movenet_multipose(output, box, self.config.min_person_score)
