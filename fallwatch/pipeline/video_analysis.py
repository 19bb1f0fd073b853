"""Analyse one video file end to end: the path `fallwatch analyze` and its benchmark share."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fallwatch.pipeline.analyzer import Analyzer, FrameResult
from fallwatch.pipeline.annotator import Annotator
from fallwatch.sources.prefetch import BackgroundWriter, prefetch
from fallwatch.sources.sampling import FrameSampler
from fallwatch.sources.video import iter_video, probe_video
from fallwatch.sources.writer import VideoFileWriter, open_video_writer
from fallwatch.types import EventKind, FallEvent, FallState, FallUpdate, Frame


@dataclass
class DownEpisode:
    """One person's stay on the ground: from when they went down to the last frame they
    were still down (they got up, were lost, or the video ended)."""

    track_id: int
    start_s: float
    """Video time when the person went down."""
    down_for_s: float = 0.0
    """How long they were seen down."""
    alerted: bool = False
    """A fall or found-down alert was raised for it."""
    ignored: bool = False
    """In an ignore zone or below the minimum size at some point: never alerted."""


class DownEpisodes:
    """Follows each track's down episodes through the classifier's updates."""

    def __init__(self) -> None:
        self.episodes: list[DownEpisode] = []
        self._open: dict[tuple[int, float], DownEpisode] = {}

    def update(self, t_s: float, update: FallUpdate) -> None:
        for status in update.tracks:
            if status.down_for_s <= 0:
                continue
            episode = self._episode(status.track_id, t_s - status.down_for_s)
            episode.down_for_s = max(episode.down_for_s, status.down_for_s)
            episode.alerted |= status.state == FallState.ALERTED
            episode.ignored |= status.ignored
        for event in update.events:
            if event.kind != EventKind.RECOVERED:
                self._episode(event.track_id, event.down_from_s).alerted = True

    def _episode(self, track_id: int, start_s: float) -> DownEpisode:
        # Rounded: `t - (t - down_from)` is `down_from` only to within float error.
        key = (track_id, round(start_s, 3))
        if key not in self._open:
            self._open[key] = DownEpisode(track_id, start_s)
            self.episodes.append(self._open[key])
        return self._open[key]


@dataclass
class VideoAnalysis:
    """What analysing one file gave, and what it cost."""

    video_fps: float
    frames: int = 0
    analysed_frames: int = 0
    events: list[FallEvent] = field(default_factory=list)
    wall_s: float = 0.0
    stage_ms: dict[str, float] = field(default_factory=dict)
    """Summed milliseconds per stage: detect, track, rules (main thread); annotate and
    write (writer thread, overlapped with the model)."""
    video_codec: str | None = None
    """The annotated video's codec (h264; mpeg4 without PyAV), None when not written."""
    max_down_for_s: float = 0.0
    """The longest anyone was seen down: with no alert, says whether the clip was too
    short for the confirm time rather than no one falling."""
    down_episodes: list[DownEpisode] = field(default_factory=list)
    """Every time someone was down, alerted or not, in the order they went down."""

    @property
    def duration_s(self) -> float:
        return self.frames / self.video_fps if self.video_fps > 0 else 0.0

    @property
    def x_realtime(self) -> float:
        return self.duration_s / self.wall_s if self.wall_s > 0 else 0.0


def analyze_video(
    path: Path,
    analyzer: Analyzer,
    annotator: Annotator | None,
    out_video: Path | None,
    analysis_fps: float | None,
    on_event: Callable[[FallEvent], None] | None = None,
    on_frame: Callable[[], None] | None = None,
) -> VideoAnalysis:
    """Decode ahead on a thread, analyse at `analysis_fps` (None/0: every frame), and
    annotate + encode every frame behind on another thread when `out_video` is given.

    Frames between analysed ones are drawn with the latest analysis, as a live camera
    shows them. Raises `VideoError` for a missing or undecodable file.
    """
    info = probe_video(path)
    result = VideoAnalysis(video_fps=info.fps)
    stage_ms = result.stage_ms
    writer: VideoFileWriter | None = None
    sink: BackgroundWriter[tuple[Frame, FrameResult]] | None = None
    if out_video is not None:
        if annotator is None:
            raise ValueError("an annotator is needed to write the annotated video")
        out_video.parent.mkdir(parents=True, exist_ok=True)
        # H.264 in MP4 for `.mp4` (browsers play it), MPEG-4 Part 2 without PyAV.
        writer = out = open_video_writer(out_video, info.fps, (info.width, info.height))
        result.video_codec = out.codec

        def draw_and_write(item: tuple[Frame, FrameResult]) -> None:
            frame, res = item
            t0 = time.perf_counter()
            image = annotator.annotate(frame.image, res.poses, res.update)
            t1 = time.perf_counter()
            out.write(image)
            stage_ms["annotate"] = stage_ms.get("annotate", 0.0) + (t1 - t0) * 1000
            stage_ms["write"] = stage_ms.get("write", 0.0) + (time.perf_counter() - t1) * 1000

        sink = BackgroundWriter(draw_and_write)
    sampler = FrameSampler(analysis_fps)
    last: FrameResult | None = None
    episodes = DownEpisodes()
    result.down_episodes = episodes.episodes
    started = time.perf_counter()
    try:
        for frame in prefetch(iter_video(path, camera_id=analyzer.classifier.camera_id)):
            result.frames += 1
            if last is None or sampler.keep(frame.t_s):
                last = analyzer.process(frame)
                result.analysed_frames += 1
                for stage, ms in last.timings_ms.items():
                    stage_ms[stage] = stage_ms.get(stage, 0.0) + ms
                for status in last.update.tracks:
                    result.max_down_for_s = max(result.max_down_for_s, status.down_for_s)
                episodes.update(frame.t_s, last.update)
                for event in last.update.events:
                    result.events.append(event)
                    if on_event is not None:
                        on_event(event)
            if sink is not None:
                sink.put((frame, last))
            if on_frame is not None:
                on_frame()
    finally:
        if sink is not None:
            sink.close()
        if writer is not None:
            # Flushing the file is part of what analysing costs.
            writer.close()
    result.wall_s = time.perf_counter() - started
    return result
