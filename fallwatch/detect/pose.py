"""Default detector: MoveNet MultiPose Lightning on LiteRT."""

from __future__ import annotations

from dataclasses import replace
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
        self._model_path = model_path or movenet_path()
        self._runtimes: dict[tuple[int, int], LiteRTRuntime] = {}
        self._runtime = self._runtime_for(self.config.input_wh)

    def _runtime_for(self, input_wh: tuple[int, int]) -> LiteRTRuntime:
        # One interpreter per input size (the main pass's, the zoom's): resizing one
        # back and forth would re-plan XNNPack on every call.
        runtime = self._runtimes.get(input_wh)
        if runtime is None:
            w, h = input_wh
            runtime = LiteRTRuntime(
                self._model_path, (1, h, w, 3), num_threads=self.config.num_threads
            )
            self._runtimes[input_wh] = runtime
        return runtime

    def detect(self, frame: Frame) -> Poses:
        tensor, box = self.preprocess(frame)
        return self.decode(self.infer(tensor), box)

    def detect_region(
        self,
        frame: Frame,
        region_xyxy: tuple[int, int, int, int],
        input_wh: tuple[int, int] | None = None,
    ) -> Poses:
        """People inside `region_xyxy` (frame pixels, x2/y2 exclusive), enlarged to the
        model input `input_wh` (default: the main pass's), in frame pixels. The zoomed
        second look at small people uses this."""
        wh = input_wh or self.config.input_wh
        tensor, box = self.preprocess(frame, region_xyxy, wh)
        (output,) = self._runtime_for(wh).run(tensor)
        return self.decode(output, box)  # type: ignore[arg-type]

    # The three steps are public so the benchmark can time them apart.
    def preprocess(
        self,
        frame: Frame,
        region_xyxy: tuple[int, int, int, int] | None = None,
        input_wh: tuple[int, int] | None = None,
    ) -> tuple[npt.NDArray[np.uint8], Letterbox]:
        """BGR frame (or its `region_xyxy`) -> letterboxed RGB uint8 tensor `[1, H, W, 3]`
        at `input_wh` (default the config's) and its placement; the placement maps
        decoded points back to frame pixels."""
        wh = input_wh or self.config.input_wh
        if region_xyxy is None:
            rgb = np.asarray(cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB), np.uint8)
            tensor, box = letterbox(rgb, wh)
            return tensor[np.newaxis], box
        x1, y1, x2, y2 = region_xyxy
        w, h = frame.size_wh
        if not (0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h):
            raise ValueError(
                f"region_xyxy must be a non-empty box inside the {w}x{h} frame, got {region_xyxy}"
            )
        # Colour-convert the crop only: it is a small part of the frame.
        rgb = np.asarray(cv2.cvtColor(frame.image[y1:y2, x1:x2], cv2.COLOR_BGR2RGB), np.uint8)
        tensor, box = letterbox(rgb, wh)
        return tensor[np.newaxis], replace(box, origin_xy=(float(x1), float(y1)))

    def infer(self, tensor: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        (output,) = self._runtime.run(tensor)
        return output  # type: ignore[return-value]

    def decode(self, output: npt.NDArray[np.float32], box: Letterbox) -> Poses:
        return decode_movenet_multipose(output, box, self.config.min_person_score)
