"""Run clips through the real pipeline (`Analyzer`), optionally replaying cached detections.

The detector is most of the cost (MoveNet: ~25 ms a frame on a laptop core); the tracker
and the fall rules are a fraction of a millisecond. So `PosesCache` stores each clip's
raw detector output, and a later run with the same detector config replays it through a
fresh `Analyzer` (tracker + classifier) without decoding the video: the whole dev set
re-scores in seconds after a change to the rules.

The zoomed second look (`fallwatch.detect.zoom`) is not in the cache: which people it
looks at depends on the rules. On a replay with zoom on, the clip's frames are decoded
again (a few ms a frame) and the zoom runs live on the cached main-pass detections, so
a replay gives what a live run gives.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

import fallwatch
from fallwatch.config.detector import HybridDetectorConfig
from fallwatch.config.fall import FallConfig
from fallwatch.detect.base import Detector
from fallwatch.detect.hybrid import HybridDetector
from fallwatch.detect.zoom import ZoomPass, zoom_pass_for
from fallwatch.fall.sequence import SequenceScorer
from fallwatch.pipeline.analyzer import Analyzer, FrameResult
from fallwatch.sources.sampling import FrameSampler
from fallwatch.sources.video import iter_video, probe_video
from fallwatch.types import EventKind, Frame, Poses

log = logging.getLogger(__name__)

ALERT_KINDS = (EventKind.FALL, EventKind.FOUND_DOWN)
"""Events that page the control room; `recovered` is news, not an alert."""

CACHE_FORMAT = 1
"""Bump when the stored layout changes, so old cache files are simply missed."""


@dataclass(frozen=True)
class Alert:
    t_s: float
    kind: str
    track_id: int
    down_from_s: float


@dataclass(frozen=True)
class ClipRun:
    """What the pipeline did on one clip."""

    path: Path
    alerts: tuple[Alert, ...]
    times_s: npt.NDArray[np.float64]
    """`(frames,)` media time of each frame."""
    max_down_score: npt.NDArray[np.float32]
    """`(frames,)` the highest per-frame down score over tracked people; NaN with nobody."""
    fps: float
    wall_s: float
    """Seconds this run took (decode + detect + rules, or cache load + rules)."""
    stage_ms: dict[str, float] = field(default_factory=dict)
    """Total milliseconds per pipeline stage over the clip."""
    cached: bool = False
    """True when the detections came from the cache (its speed is not the detector's)."""

    @property
    def frames(self) -> int:
        return len(self.times_s)

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps if self.fps > 0 else 0.0

    @property
    def alerts_s(self) -> list[float]:
        return [a.t_s for a in self.alerts]


@dataclass(frozen=True)
class Detections:
    """A clip's raw detector output, one `Poses` per frame, as the cache stores it."""

    fps: float
    size_wh: tuple[int, int]
    times_s: npt.NDArray[np.float64]
    poses: list[Poses]


class PosesCache:
    """Raw per-frame detections on disk, one `.npz` per clip and detector config.

    The key hashes the clip's resolved path, size and modification time with the
    detector config and the fallwatch version, so a changed clip or detector setting
    misses. A change to detector *code* without a version bump does not: clear the
    directory after editing a detector.

    A `hybrid` config that misses is composed from its two models' own entries when both
    are in the directory: the real `HybridDetector` runs over the cached pose and YOLO
    outputs of the same frames. Both models judge each frame alone, so this gives exactly
    what a live hybrid run gives, without running either model a second time (the YOLO
    model takes over an hour of CPU over the dev set here).
    """

    def __init__(
        self, directory: str | Path, detector_config: BaseModel, analysis_fps: float | None = None
    ):
        self.directory = Path(directory)
        self._hybrid: HybridDetectorConfig | None = None
        self._parts: tuple[PosesCache, PosesCache] | None = None
        if isinstance(detector_config, HybridDetectorConfig):
            self._hybrid = detector_config
            self._parts = (
                PosesCache(directory, detector_config.pose, analysis_fps),
                PosesCache(directory, detector_config.yolo, analysis_fps),
            )
        self._detector_key = json.dumps(
            {
                "detector": main_pass_config(detector_config),
                "analysis_fps": analysis_fps or 0,
                "fallwatch": fallwatch.__version__,
                "format": CACHE_FORMAT,
            },
            sort_keys=True,
        )

    def path_for(self, source: Path) -> Path:
        st = source.stat()
        key = json.dumps([str(source.resolve()), st.st_size, st.st_mtime_ns, self._detector_key])
        digest = hashlib.sha256(key.encode()).hexdigest()[:20]
        return self.directory / f"{source.stem}-{digest}.npz"

    def load(self, source: Path) -> Detections | None:
        hit = self._load_file(source)
        if hit is None and self._parts is not None:
            hit = self._compose(source)
        return hit

    def _compose(self, source: Path) -> Detections | None:
        assert self._parts is not None and self._hybrid is not None
        pose, yolo = (part.load(source) for part in self._parts)
        if pose is None or yolo is None:
            return None
        if len(pose.times_s) != len(yolo.times_s) or not np.allclose(pose.times_s, yolo.times_s):
            log.warning("%s: cached pose and YOLO frames differ; running hybrid live", source)
            return None
        detector = HybridDetector(
            self._hybrid, pose=_ReplayDetector(pose.poses), yolo=_ReplayDetector(yolo.poses)
        )
        frames = _replay_frames(pose, camera_id=source.stem)
        return replace(pose, poses=[detector.detect(frame) for frame in frames])

    def _load_file(self, source: Path) -> Detections | None:
        path = self.path_for(source)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                counts = z["counts"]
                splits = np.cumsum(counts)[:-1]
                parts = {
                    k: np.split(z[k], splits)
                    for k in (
                        "xyxy",
                        "scores",
                        "keypoints",
                        "keypoint_scores",
                        "fallen_scores",
                    )
                }
                poses = [
                    Poses.create(**{k: v[i] for k, v in parts.items()}) for i in range(len(counts))
                ]
                return Detections(
                    fps=float(z["fps"]),
                    size_wh=(int(z["size_wh"][0]), int(z["size_wh"][1])),
                    times_s=z["times_s"].astype(np.float64),
                    poses=poses,
                )
        except (OSError, KeyError, ValueError) as exc:
            # A truncated or foreign file is a miss, not a failure: it is rewritten.
            log.warning("ignoring unreadable cache file %s: %s", path, exc)
            return None

    def save(self, source: Path, detections: Detections) -> Path:
        path = self.path_for(source)
        self.directory.mkdir(parents=True, exist_ok=True)
        poses = detections.poses or [Poses.empty()]
        arrays: dict[str, Any] = {
            "counts": np.array([len(p) for p in detections.poses], np.int64),
            "times_s": detections.times_s,
            "fps": np.float64(detections.fps),
            "size_wh": np.array(detections.size_wh, np.int64),
            "xyxy": np.concatenate([p.xyxy for p in poses]),
            "scores": np.concatenate([p.scores for p in poses]),
            "keypoints": np.concatenate([p.keypoints for p in poses]),
            "keypoint_scores": np.concatenate([p.keypoint_scores for p in poses]),
            "fallen_scores": np.concatenate([p.fallen_scores for p in poses]),
        }
        # Write then rename, so a run killed mid-write leaves no half file behind.
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


def main_pass_config(config: BaseModel) -> dict[str, Any]:
    """The detector config as the main pass sees it, for the cache key: without the `zoom`
    sections, which steer only the zoomed look (run live on replay, never cached)."""
    data: dict[str, Any] = config.model_dump(mode="json")
    data.pop("zoom", None)
    pose = data.get("pose")
    if isinstance(pose, dict):
        pose.pop("zoom", None)
    return data


class _RecordingDetector:
    """Passes frames to the real detector and keeps its raw output for the cache."""

    def __init__(self, inner: Detector):
        self.inner = inner
        self.name = inner.name
        self.poses: list[Poses] = []

    def detect(self, frame: Frame) -> Poses:
        poses = self.inner.detect(frame)
        self.poses.append(poses)
        return poses


class _ReplayDetector:
    """Gives back cached detections by frame index."""

    name = "replay"

    def __init__(self, poses: list[Poses]):
        self._poses = poses

    def detect(self, frame: Frame) -> Poses:
        return self._poses[frame.index]


def _replay_frames(detections: Detections, camera_id: str) -> Iterator[Frame]:
    # The rules read poses and times, never pixels: one shared black picture of the
    # clip's size stands in for the decoded frames.
    w, h = detections.size_wh
    blank = np.zeros((max(h, 1), max(w, 1), 3), np.uint8)
    blank.flags.writeable = False
    for i, t_s in enumerate(detections.times_s):
        yield Frame(image=blank, t_s=float(t_s), index=i, camera_id=camera_id)


def _decoded_replay(
    path: Path, detections: Detections, analysis_fps: float | None, camera_id: str
) -> Iterator[Frame]:
    """The clip's analysed frames decoded again, numbered as the cached detections are.
    Raises `ValueError` when they are not the frames the cache was made from."""
    frames = FrameSampler(analysis_fps).sample(iter_video(path, camera_id=camera_id))
    count = len(detections.times_s)
    i = -1
    for i, frame in enumerate(frames):
        if i >= count or not np.isclose(frame.t_s, detections.times_s[i]):
            raise ValueError(
                f"{path}: decoded frame {i} does not match the cached detections; "
                "clear the cache directory"
            )
        yield replace(frame, index=i)
    if i + 1 != count:
        raise ValueError(f"{path}: {i + 1} frames decoded, the cache has {count}")


class ClipRunner:
    """Runs one clip at a time through a fresh `Analyzer` and collects alerts and scores.

    `detector` may be None for a runner that only replays cached detections: a clip
    missing from the cache is then a `ValueError`, never a silent live run.
    """

    def __init__(
        self,
        detector: Detector | None,
        fall_config: FallConfig,
        cache: PosesCache | None = None,
        analysis_fps: float | None = None,
        sequence: SequenceScorer | None = None,
    ):
        """`sequence`: a window scorer for the rules instead of the one `fall_config`
        names (training plugs in the model it judges, or one recording windows)."""
        self.detector = detector
        self.fall_config = fall_config
        self.cache = cache
        self.analysis_fps = analysis_fps
        self.sequence = sequence

    def run(self, path: Path) -> ClipRun:
        """Analyse the video at `path`; raises `VideoError` for a missing or bad file."""
        started = time.perf_counter()
        cached = self.cache.load(path) if self.cache else None
        # Taken from the real detector: the stand-ins below have no model to zoom with.
        zoom = zoom_pass_for(self.detector)
        if cached is not None:
            return self.replay(cached, path, started=started, zoom=zoom)
        if self.detector is None:
            # A replay-only runner (leave-one-source-out folds) must never decode.
            raise ValueError(f"{path}: not in the detections cache, and no detector to run")
        camera_id = path.stem
        info = probe_video(path)
        fps, size_wh = info.fps, (info.width, info.height)
        # Sampled before the detector, so the cache holds exactly the analysed frames.
        frames = FrameSampler(self.analysis_fps).sample(iter_video(path, camera_id=camera_id))
        recorder = _RecordingDetector(self.detector)
        run = self._analyse(path, frames, recorder, fps, started, cached=False, zoom=zoom)
        if self.cache is not None:
            self.cache.save(path, Detections(fps, size_wh, run.times_s, recorder.poses))
        return run

    def replay(
        self,
        detections: Detections,
        path: Path,
        started: float | None = None,
        zoom: ZoomPass | None = None,
    ) -> ClipRun:
        """The rules over detections already in memory (from `PosesCache.load`).

        Leave-one-source-out fits replay every clip under many rule settings: loading
        each clip once and replaying it from memory keeps a fold to a second or two.
        With a `zoom` pass the frames are decoded again, since the zoom looks at pixels.
        """
        started = time.perf_counter() if started is None else started
        frames = (
            _replay_frames(detections, path.stem)
            if zoom is None
            else _decoded_replay(path, detections, self.analysis_fps, path.stem)
        )
        detector = _ReplayDetector(detections.poses)
        return self._analyse(
            path, frames, detector, detections.fps, started, cached=True, zoom=zoom
        )

    def replay_results(self, detections: Detections, path: Path) -> Iterator[FrameResult]:
        """Each frame's result of the rules over cached detections (no zoom): for callers
        that need more than a `ClipRun` keeps, such as every person's down score."""
        frames = _replay_frames(detections, path.stem)
        return self._analyzer(path, _ReplayDetector(detections.poses), None).run(frames)

    def _analyzer(self, path: Path, detector: Detector, zoom: ZoomPass | None) -> Analyzer:
        return Analyzer(
            detector, self.fall_config, camera_id=path.stem, zoom=zoom, sequence=self.sequence
        )

    def _analyse(
        self,
        path: Path,
        frames: Iterator[Frame],
        detector: Detector,
        fps: float,
        started: float,
        cached: bool,
        zoom: ZoomPass | None = None,
    ) -> ClipRun:
        analyzer = self._analyzer(path, detector, zoom)
        alerts: list[Alert] = []
        times: list[float] = []
        scores: list[float] = []
        stage_ms: dict[str, float] = {}
        for result in analyzer.run(frames):
            times.append(result.frame.t_s)
            down = [s.down_score for s in result.update.tracks]
            scores.append(max(down) if down else float("nan"))
            for stage, ms in result.timings_ms.items():
                stage_ms[stage] = stage_ms.get(stage, 0.0) + ms
            alerts.extend(
                Alert(e.t_s, str(e.kind), e.track_id, e.down_from_s)
                for e in result.update.events
                if e.kind in ALERT_KINDS
            )
        return ClipRun(
            path=path,
            alerts=tuple(alerts),
            times_s=np.asarray(times, np.float64),
            max_down_score=np.asarray(scores, np.float32),
            fps=fps,
            wall_s=time.perf_counter() - started,
            stage_ms=stage_ms,
            cached=cached,
        )


@dataclass(frozen=True)
class Speed:
    """How fast the detector-driven runs went (cache replays are left out)."""

    frames: int
    wall_s: float
    video_s: float
    cached_clips: int

    @property
    def frames_per_s(self) -> float | None:
        return self.frames / self.wall_s if self.wall_s > 0 else None

    @property
    def x_realtime(self) -> float | None:
        return self.video_s / self.wall_s if self.wall_s > 0 else None

    @classmethod
    def of(cls, runs: list[ClipRun]) -> Speed:
        live = [r for r in runs if not r.cached]
        return cls(
            frames=sum(r.frames for r in live),
            wall_s=sum(r.wall_s for r in live),
            video_s=sum(r.duration_s for r in live),
            cached_clips=len(runs) - len(live),
        )
