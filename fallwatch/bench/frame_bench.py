"""Per-stage time of one frame through the whole chain, as a live camera would run it.

The chain is the one a camera worker runs, in one thread of control: decode (cv2 read),
detector preprocess / inference / postprocess, the zoomed second look at small
candidates (with a zoom pass: choosing them and the crops' inferences), tracking, fall
rules, annotate and the JPEG encode a live view needs. Each stage is timed with
`perf_counter` around the call and nothing else (no tracing), so the end-to-end figure
is the chain's own cost plus a few microseconds of bookkeeping, shown as `other`. The
process's CPU time over the measured frames (all threads: the model runs on several)
is taken too: on a shared machine it says what the chain costs better than wall time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from fallwatch.bench.stats import StageStats
from fallwatch.config.fall import FallConfig
from fallwatch.detect.base import Detector
from fallwatch.detect.zoom import ZoomAction, ZoomCandidate, ZoomLook, ZoomPass
from fallwatch.fall.classifier import FallClassifier
from fallwatch.pipeline.analyzer import FrameResult, ZoomTargets
from fallwatch.pipeline.annotator import Annotator
from fallwatch.sources.video import VideoError, VideoInfo, VideoReader, probe_video
from fallwatch.track.tracker import PersonTracker
from fallwatch.types import Frame, Poses

STAGES = (
    "decode",
    "preprocess",
    "inference",
    "postprocess",
    "zoom",
    "tracking",
    "rules",
    "annotate",
    "jpeg_encode",
)
"""Stage names in chain order, as the table and the JSON give them."""
SPLIT_ONLY_STAGES = ("preprocess", "postprocess")
"""Stages timed apart only when the detector exposes `preprocess`/`infer`/`decode`;
otherwise they are inside `inference` (its whole `detect`)."""
ZOOM_ONLY_STAGES = ("zoom",)
"""Stages timed only when the bench runs a zoom pass."""
JPEG_QUALITY = 80
"""What a live MJPEG view would encode at."""


@dataclass(frozen=True)
class DecodedFrame:
    image: npt.NDArray[np.uint8]
    decode_ms: float
    """Time of the `cv2.VideoCapture.read` that gave this picture (a reopen is not in it)."""


class LoopingVideo:
    """A video file through `VideoReader` that starts over at its end when `loop` is set.

    Looping lets a short clip stand for a long run (`--frames` beyond the clip); the
    reopen at each end is left out of the decode time, a camera has no such step.
    """

    def __init__(self, path: str | Path, loop: bool = True):
        self.info: VideoInfo = probe_video(path)
        self._video = VideoReader(self.info.path, loop=loop).open()

    @property
    def loop(self) -> bool:
        return self._video.loop

    def read(self) -> DecodedFrame | None:
        """The next picture; None at the end of a video that does not loop."""
        image = self._video.read()
        if image is None:
            return None
        return DecodedFrame(image.astype(np.uint8, copy=False), self._video.decode_ms)

    def rewind(self) -> None:
        self._video.rewind()

    def close(self) -> None:
        self._video.close()


@dataclass(frozen=True)
class FrameBenchReport:
    """What `FrameBench.run` measured."""

    video: VideoInfo
    frames: int
    warmup_frames: int
    stages: dict[str, StageStats]
    """Per-stage statistics in chain order; `preprocess`/`postprocess` are missing when
    the detector has no split (they are then inside `inference`)."""
    wall_s: float
    """Wall time of the measured frames, whole chain."""
    detector_split: bool
    cpu_s: float = 0.0
    """CPU time of the whole process (all threads) over the measured frames."""
    zoom_looks: tuple[tuple[ZoomLook, ...], ...] = ()
    """Per measured frame, the zoomed looks taken (empty without a zoom pass)."""
    max_down_scores: tuple[float, ...] = ()
    """Per measured frame, the highest down score over tracked people; NaN with nobody."""
    zoom_cpu_s: float = 0.0
    """Process CPU time inside the zoom stage (picking candidates, crops, their inference)."""

    @property
    def zoom_cpu_percent_of_rest(self) -> float:
        """The zoom stage's CPU time over the rest of the chain's in the same run: what the
        zoom adds, free of the load drifting between two runs."""
        rest = self.cpu_s - self.zoom_cpu_s
        return 100 * self.zoom_cpu_s / rest if rest > 0 else 0.0

    @property
    def zoom_crops(self) -> int:
        return sum(len(looks) for looks in self.zoom_looks)

    @property
    def zoomed_frames(self) -> int:
        return sum(1 for looks in self.zoom_looks if looks)

    def zoom_actions(self) -> dict[str, int]:
        """How many looks replaced, kept, added or missed a person."""
        counts = dict.fromkeys((a.value for a in ZoomAction), 0)
        for looks in self.zoom_looks:
            for look in looks:
                counts[look.action.value] += 1
        return counts

    @property
    def zoom_gained_keypoints(self) -> int:
        """Looks whose person (put in place or added) shows more keypoints than the main
        pass's person there (none, where the main pass had nobody)."""
        return sum(
            1
            for looks in self.zoom_looks
            for look in looks
            if look.action in (ZoomAction.REPLACED, ZoomAction.ADDED)
            and look.zoom_visible > look.main_visible
        )

    @property
    def ms_per_frame(self) -> float:
        return self.wall_s * 1000 / self.frames

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def x_realtime(self) -> float:
        """How many times faster than the clip plays (its own fps)."""
        return self.fps / self.video.fps if self.video.fps > 0 else 0.0

    @property
    def cpu_ms_per_frame(self) -> float:
        return self.cpu_s * 1000 / self.frames

    @property
    def cpu_percent(self) -> float:
        """CPU time over wall time: 100 is one core busy throughout."""
        return 100 * self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def other_ms_per_frame(self) -> float:
        """End-to-end time not inside any timed stage: loop and object bookkeeping."""
        return self.ms_per_frame - sum(s.mean_ms for s in self.stages.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "video": {
                "path": str(self.video.path),
                "width": self.video.width,
                "height": self.video.height,
                "fps": self.video.fps,
                "frame_count": self.video.frame_count,
            },
            "frames": self.frames,
            "warmup_frames": self.warmup_frames,
            "stages_ms": {name: s.as_dict() for name, s in self.stages.items()},
            "detector_split": self.detector_split,
            "other_ms_per_frame": round(self.other_ms_per_frame, 4),
            "end_to_end": {
                "wall_s": round(self.wall_s, 4),
                "ms_per_frame": round(self.ms_per_frame, 4),
                "fps": round(self.fps, 3),
                "x_realtime": round(self.x_realtime, 3),
            },
            "cpu": {
                "cpu_s": round(self.cpu_s, 4),
                "ms_per_frame": round(self.cpu_ms_per_frame, 4),
                "percent_of_one_core": round(self.cpu_percent, 1),
                "zoom_cpu_s": round(self.zoom_cpu_s, 4),
                "zoom_percent_of_rest": round(self.zoom_cpu_percent_of_rest, 2),
            },
            "zoom": {
                "crops": self.zoom_crops,
                "zoomed_frames": self.zoomed_frames,
                "actions": self.zoom_actions(),
                "gained_keypoints": self.zoom_gained_keypoints,
            },
        }


def has_split(detector: Detector) -> bool:
    """True when the detector exposes preprocess / infer / decode (MoveNet does)."""
    return all(
        callable(getattr(detector, step, None)) for step in ("preprocess", "infer", "decode")
    )


class FrameBench:
    """Times each stage of the per-frame chain over a video."""

    def __init__(
        self,
        detector: Detector,
        fall_config: FallConfig | None = None,
        zoom: ZoomPass | None = None,
    ):
        """`zoom`: the zoomed second look to run as the Analyzer runs it; None, none."""
        self.detector = detector
        self.fall_config = fall_config or FallConfig()
        self.split = has_split(detector)
        self.zoom = zoom

    def run(
        self, video_path: str | Path, frames: int | None = None, warmup: int = 10
    ) -> FrameBenchReport:
        """Run `warmup` unmeasured frames, then `frames` measured ones from the clip's start.

        `frames=None` measures the clip once through; more frames than the clip has loop
        it, with media time running on so the rules see time move forward.
        """
        if frames is not None and frames < 1:
            raise ValueError(f"frames must be >= 1, got {frames}")
        if warmup < 0:
            raise ValueError(f"warmup must be >= 0, got {warmup}")
        video = LoopingVideo(video_path, loop=frames is not None)
        try:
            if warmup:
                # Warm-up goes through the whole chain so first-call costs (allocation,
                # delegate set-up, font cache) stay out of the figures.
                self._measure(video, warmup, record=False)
                video.rewind()
            cpu0 = time.process_time()
            samples, wall_s, looks, down, zoom_cpu_s = self._measure(video, frames, record=True)
            cpu_s = time.process_time() - cpu0
        finally:
            video.close()
        measured = len(samples["decode"])
        if measured == 0:
            raise VideoError(f"{video_path}: no frames to measure")
        return FrameBenchReport(
            video=video.info,
            frames=measured,
            warmup_frames=warmup,
            stages={name: StageStats.of(samples[name]) for name in STAGES if samples[name]},
            wall_s=wall_s,
            detector_split=self.split,
            cpu_s=cpu_s,
            zoom_looks=tuple(looks) if self.zoom is not None else (),
            max_down_scores=tuple(down),
            zoom_cpu_s=zoom_cpu_s,
        )

    def _measure(
        self, video: LoopingVideo, frames: int | None, record: bool
    ) -> tuple[dict[str, list[float]], float, list[tuple[ZoomLook, ...]], list[float], float]:
        tracker = PersonTracker(self.fall_config.tracker)
        classifier = FallClassifier(self.fall_config, camera_id="bench")
        zoom = self.zoom
        targets = ZoomTargets(zoom.config, zoom.main_input_wh) if zoom is not None else None
        candidates: list[ZoomCandidate] = []
        all_looks: list[tuple[ZoomLook, ...]] = []
        down: list[float] = []
        zoom_cpu_s = 0.0
        cpu = time.process_time
        annotator = Annotator(self.fall_config.zones, self.fall_config.min_keypoint_score)
        samples: dict[str, list[float]] = {name: [] for name in STAGES}
        fps = video.info.fps
        jpeg_params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
        clock = time.perf_counter
        index = 0
        started = clock()
        while frames is None or index < frames:
            decoded = video.read()
            if decoded is None:
                break
            frame = Frame(image=decoded.image, t_s=index / fps, index=index, camera_id="bench")
            poses, detect_ms = self._detect(frame)
            t0, c0 = clock(), cpu()
            looks: tuple[ZoomLook, ...] = ()
            if zoom is not None and candidates:
                poses = zoom.refine(frame, poses, candidates)
                looks = zoom.looks
            t1, c1 = clock(), cpu()
            tracked = tracker.update(poses, frame.t_s)
            t2 = clock()
            update = classifier.update(tracked, frame.t_s)
            t3, c3 = clock(), cpu()
            if targets is not None:
                # As the Analyzer does: this frame's result picks the next frame's crops.
                candidates = targets.update(FrameResult(frame, tracked, update, zoom_looks=looks))
            t3z, c3z = clock(), cpu()
            annotated = annotator.annotate(frame.image, tracked, update)
            t4 = clock()
            ok, _jpeg = cv2.imencode(".jpg", annotated, jpeg_params)
            t5 = clock()
            if not ok:
                raise RuntimeError("cv2.imencode could not encode the annotated frame as JPEG")
            if record:
                samples["decode"].append(decoded.decode_ms)
                for name, ms in detect_ms.items():
                    samples[name].append(ms)
                if zoom is not None:
                    samples["zoom"].append((t1 - t0 + t3z - t3) * 1000)
                    zoom_cpu_s += c1 - c0 + c3z - c3
                all_looks.append(looks)
                scores = [status.down_score for status in update.tracks]
                down.append(max(scores) if scores else float("nan"))
                samples["tracking"].append((t2 - t1) * 1000)
                samples["rules"].append((t3 - t2) * 1000)
                samples["annotate"].append((t4 - t3z) * 1000)
                samples["jpeg_encode"].append((t5 - t4) * 1000)
            index += 1
        return samples, clock() - started, all_looks, down, zoom_cpu_s

    def _detect(self, frame: Frame) -> tuple[Poses, dict[str, float]]:
        clock = time.perf_counter
        if not self.split:
            t0 = clock()
            poses = self.detector.detect(frame)
            return poses, {"inference": (clock() - t0) * 1000}
        det: Any = self.detector
        t0 = clock()
        tensor, box = det.preprocess(frame)
        t1 = clock()
        raw = det.infer(tensor)
        t2 = clock()
        poses = det.decode(raw, box)
        t3 = clock()
        return poses, {
            "preprocess": (t1 - t0) * 1000,
            "inference": (t2 - t1) * 1000,
            "postprocess": (t3 - t2) * 1000,
        }
