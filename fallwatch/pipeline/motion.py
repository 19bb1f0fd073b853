"""The motion gate: whether a camera is analysed at its full or its idle rate.

Most cameras of a control room show an empty room most of the time; analysing them at
the full rate spends a core on nothing. As in Frigate, where motion decides when the
detector runs, a cheap measure on a small grey copy of each frame (well under a
millisecond) decides: with no motion and nobody held by the fall classifier the camera
is analysed at `idle_fps`; motion or a person brings it to `analysis_fps` at once, and
anyone falling, down or alerted keeps it there whether the picture moves or not (a
person lying still is exactly who must not drop out of tracking).

The measure: the frame scaled down to `MEASURE_PX` on its longer side, grey, blurred
(sensor and compression noise averaged out), compared with a running background of
recent frames (time constant `BACKGROUND_S`); the share of pixels differing by more than
`pixel_delta` grey levels is the motion share.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np
import numpy.typing as npt

from fallwatch.config.motion import MotionConfig
from fallwatch.types import FallState

MEASURE_PX = 160
"""Longer side of the picture the motion is measured on, pixels."""
BACKGROUND_S = 2.0
"""Time constant of the running background, seconds: slow light changes fade into it,
a person crossing the room does not."""
_KERNEL = np.ones((3, 3), np.uint8)
URGENT_STATES = frozenset({FallState.FALLING, FallState.DOWN, FallState.ALERTED})


class RateMode(StrEnum):
    FULL = "full"
    """Analysed at analysis_fps."""
    IDLE = "idle"
    """Analysed at idle_fps."""


class RateReason(StrEnum):
    """Why a camera runs at its rate (the dashboard tile and /metrics show it)."""

    PERSON_DOWN = "person down"
    """Someone is falling, down or alerted."""
    PERSON = "person in view"
    MOTION = "motion"
    QUIET = "no motion"
    OFF = "gating off"
    """idle_fps equals analysis_fps, or motion.enabled is false."""


@dataclass(frozen=True)
class GateDecision:
    mode: RateMode
    reason: RateReason
    motion_share: float
    """Share of the picture that moved, in [0, 1] (0 with gating off)."""

    @property
    def full(self) -> bool:
        return self.mode is RateMode.FULL


class MotionGate:
    """Decides, frame by frame, between the full and the idle analysis rate.

    `decide` is cheap enough to run on every frame the worker looks at; it keeps one
    small float background (about 160 x 120) between calls.
    """

    def __init__(self, config: MotionConfig, *, gated: bool = True) -> None:
        """`gated`: False keeps every decision at the full rate (idle_fps equal to
        analysis_fps, or `config.enabled` off), without measuring anything."""
        self.config = config
        self.gated = gated and config.enabled
        self.reset()

    def reset(self) -> None:
        self._background: npt.NDArray[np.float32] | None = None
        self._last_t_s = -math.inf
        self._active_until_s = -math.inf
        self._active_reason = RateReason.MOTION

    def decide(
        self, image: npt.NDArray[np.uint8], t_s: float, states: Iterable[FallState]
    ) -> GateDecision:
        """`image`: BGR (h, w, 3) or grey (h, w) uint8; `t_s`: a monotonic clock in
        seconds; `states`: the fall state of everyone the classifier holds
        (`FallClassifier.held_states()`)."""
        if not self.gated:
            return GateDecision(RateMode.FULL, RateReason.OFF, 0.0)
        share = self.measure(image, t_s)
        held = list(states)
        reason: RateReason | None = None
        if any(s in URGENT_STATES for s in held):
            reason = RateReason.PERSON_DOWN
        elif held:
            reason = RateReason.PERSON
        elif share >= self.config.min_changed_share:
            reason = RateReason.MOTION
        if reason is not None:
            self._active_until_s = t_s + self.config.hold_s
            self._active_reason = reason
            return GateDecision(RateMode.FULL, reason, share)
        if t_s < self._active_until_s:
            return GateDecision(RateMode.FULL, self._active_reason, share)
        return GateDecision(RateMode.IDLE, RateReason.QUIET, share)

    def measure(self, image: npt.NDArray[np.uint8], t_s: float) -> float:
        """Share of the picture differing from the running background, in [0, 1]; then
        the background takes in this frame. The first frame (and the first after time
        went back or the picture changed size) counts as all motion."""
        grey = _small_grey(image)
        bg = self._background
        if bg is None or bg.shape != grey.shape or t_s < self._last_t_s:
            self._background = grey
            self._last_t_s = t_s
            return 1.0
        mask = (cv2.absdiff(grey, bg) > self.config.pixel_delta).astype(np.uint8)
        # Thin lines of change are noise, not people: edges flickering under compression,
        # a shaking frame border. One erosion removes them and keeps any body-sized blob.
        changed = cv2.erode(mask, _KERNEL)
        share = float(np.count_nonzero(changed)) / changed.size
        alpha = 1.0 - math.exp(-(t_s - self._last_t_s) / BACKGROUND_S)
        cv2.accumulateWeighted(grey, bg, alpha)
        self._last_t_s = t_s
        return share


def _small_grey(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    h, w = image.shape[:2]
    scale = MEASURE_PX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    if small.ndim == 3:
        small = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    blurred = cv2.GaussianBlur(small, (5, 5), 0)
    return blurred.astype(np.float32)
