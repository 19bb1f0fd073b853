"""One camera's analysis chain: detect -> zoom -> track -> classify, with per-stage timing.

The zoom step (`fallwatch.detect.zoom`) looks again, on an enlarged crop, at the few
small people who may be falling or down; who they are is decided here, from the
previous frame's result: its tracks, their fall states, and where candidates the main
pass lost were last seen.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from fallwatch.config.detector import ZoomConfig
from fallwatch.config.fall import FallConfig
from fallwatch.detect.base import Detector
from fallwatch.detect.zoom import (
    ZoomAction,
    ZoomCandidate,
    ZoomLook,
    ZoomPass,
    zoom_pass_for,
)
from fallwatch.fall.classifier import FallClassifier
from fallwatch.fall.sequence import SequenceScorer
from fallwatch.track.tracker import PersonTracker
from fallwatch.types import FallState, FallUpdate, Frame, Poses


@dataclass(frozen=True)
class FrameResult:
    """Everything known about one analysed frame."""

    frame: Frame
    poses: Poses
    """Tracked people (track_ids set)."""
    update: FallUpdate
    timings_ms: dict[str, float] = field(default_factory=dict)
    zoom_looks: tuple[ZoomLook, ...] = ()
    """The zoomed looks taken on this frame (none without zoom or candidates)."""


ZOOM_STATES = (FallState.FALLING, FallState.DOWN, FallState.ALERTED)


class ZoomTargets:
    """Picks, from one frame's result, the people to zoom on in the next frame.

    A candidate is a tracked person who is falling, down or alerted, or whose down
    score is at least `min_down_score`. A person the main pass loses stays one, at the
    place last seen, for `hold_lost_s`: a candidate always, any other person with
    `look_for_lost` (a small person is often lost mid-fall, before being judged down).
    A lost person the zoom found again is still lost to the main pass, so still looked
    for; the hold is renewed only while they are a candidate, so a person nobody but
    the zoom sees and who is not down is given up after `hold_lost_s`.

    Only people small to the model are kept (longest side under `max_person_model_px`
    once scaled into the model input): a big person gains nothing from a crop. The most
    urgent come first, at most `max_crops_per_frame`: lost people (the main pass has no
    skeleton for them at all), then falling/down/alerted, then by down score.
    """

    def __init__(self, config: ZoomConfig, main_input_wh: tuple[int, int]):
        """`main_input_wh`: the main pass's model input, which sets how small a person
        is to the model."""
        self.config = config
        self.main_input_wh = main_input_wh
        self.reset()

    def reset(self) -> None:
        self._last_seen: dict[int, tuple[tuple[float, float, float, float], float, bool]] = {}
        """Track id -> (box, time, candidate) where each person was last seen by the main
        pass (time) and last placed (box), and whether they were a candidate then."""
        self._last_t_s: float | None = None

    def update(self, result: FrameResult) -> list[ZoomCandidate]:
        cfg = self.config
        t_s = result.frame.t_s
        if self._last_t_s is not None and t_s <= self._last_t_s:
            # Time went back (a looped file, a new clip): those places are of another picture.
            self._last_seen.clear()
        self._last_t_s = t_s
        statuses = {s.track_id: s for s in result.update.tracks}
        zoom_only = {look.track_id for look in result.zoom_looks if look.action == ZoomAction.ADDED}
        present: set[int] = set()
        ranked: list[tuple[tuple[int, float], ZoomCandidate]] = []
        for i, tid in enumerate(result.poses.track_ids.tolist()):
            present.add(tid)
            status = statuses.get(tid)
            urgent = status is not None and status.state in ZOOM_STATES
            candidate = urgent or (status is not None and status.down_score >= cfg.min_down_score)
            box = _box_tuple(result.poses.xyxy[i])
            previous = self._last_seen.get(tid)
            if tid in zoom_only and not candidate and previous is not None:
                # Seen only by the zoom: keep looking, but the hold runs on.
                if t_s - previous[1] > cfg.hold_lost_s:
                    del self._last_seen[tid]
                    continue
                self._last_seen[tid] = (box, previous[1], previous[2])
                ranked.append(((0, -previous[1]), ZoomCandidate(box, tid, lost=True)))
                continue
            self._last_seen[tid] = (box, t_s, candidate)
            if candidate:
                down_score = status.down_score if status is not None else 0.0
                ranked.append(((1 if urgent else 2, -down_score), ZoomCandidate(box, tid)))
        for tid, (box, seen_s, candidate) in list(self._last_seen.items()):
            if tid in present:
                continue
            if t_s - seen_s > cfg.hold_lost_s or not (candidate or cfg.look_for_lost):
                del self._last_seen[tid]
                continue
            ranked.append(((0, -seen_s), ZoomCandidate(box, tid, lost=True)))
        frame_w, frame_h = result.frame.size_wh
        scale = min(self.main_input_wh[0] / frame_w, self.main_input_wh[1] / frame_h)
        small = [
            (rank, c)
            for rank, c in ranked
            if max(c.xyxy[2] - c.xyxy[0], c.xyxy[3] - c.xyxy[1]) * scale < cfg.max_person_model_px
        ]
        small.sort(key=lambda rc: rc[0])
        return [c for _, c in small[: cfg.max_crops_per_frame]]


def _box_tuple(xyxy: npt.NDArray[np.float32]) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    return x1, y1, x2, y2


class Analyzer:
    """Runs the detector, the zoomed second look, tracker and fall classifier of one
    camera, frame by frame."""

    def __init__(
        self,
        detector: Detector,
        fall_config: FallConfig | None = None,
        camera_id: str = "default",
        tracker: PersonTracker | None = None,
        zoom: ZoomPass | None = None,
        sequence: SequenceScorer | None = None,
    ):
        """`zoom`: the zoomed second look; None takes the one the detector's config
        asks for (`zoom_pass_for`), which is none for a detector without a crop pose
        model or with `zoom.enabled` off. Pass one explicitly where `detector` is a
        stand-in (the evaluation's cache replay).
        `sequence`: a window scorer overriding the one `fall_config` names (training)."""
        self.detector = detector
        self.classifier = FallClassifier(fall_config, camera_id=camera_id, sequence=sequence)
        self.tracker = tracker or PersonTracker(self.classifier.config.tracker)
        self.zoom = zoom if zoom is not None else zoom_pass_for(detector)
        self.targets = (
            ZoomTargets(self.zoom.config, self.zoom.main_input_wh)
            if self.zoom is not None
            else None
        )
        self._candidates: list[ZoomCandidate] = []

    def reset(self) -> None:
        self.tracker.reset()
        self.classifier.reset()
        if self.zoom is not None and self.targets is not None:
            self.zoom.reset()
            self.targets.reset()
        self._candidates = []

    def process(self, frame: Frame) -> FrameResult:
        t0 = time.perf_counter()
        poses = self.detector.detect(frame)
        t1 = time.perf_counter()
        looks: tuple[ZoomLook, ...] = ()
        if self.zoom is not None and self._candidates:
            poses = self.zoom.refine(frame, poses, self._candidates)
            looks = self.zoom.looks
        tz = time.perf_counter()
        tracked = self.tracker.update(poses, frame.t_s)
        t2 = time.perf_counter()
        update = self.classifier.update(tracked, frame.t_s)
        t3 = time.perf_counter()
        timings_ms = {"detect": (t1 - t0) * 1000}
        if self.zoom is not None:
            timings_ms["zoom"] = (tz - t1) * 1000
        timings_ms["track"] = (t2 - tz) * 1000
        timings_ms["rules"] = (t3 - t2) * 1000
        result = FrameResult(
            frame=frame, poses=tracked, update=update, timings_ms=timings_ms, zoom_looks=looks
        )
        if self.targets is not None:
            self._candidates = self.targets.update(result)
        return result

    def run(self, frames: Iterable[Frame]) -> Iterator[FrameResult]:
        for frame in frames:
            yield self.process(frame)
