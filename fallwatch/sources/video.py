"""Video file reading with clear errors for bad input."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2

from fallwatch.types import Frame


class VideoError(ValueError):
    """A video that cannot be used: missing, not a video, or without frames."""


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    fps: float
    frame_count: int
    width: int
    height: int

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps if self.fps > 0 else 0.0


def _open(path: Path) -> cv2.VideoCapture:
    if not path.exists():
        raise VideoError(f"{path}: no such file")
    if not path.is_file():
        raise VideoError(f"{path}: not a file")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise VideoError(f"{path}: not a video OpenCV can decode")
    return cap


def probe_video(path: str | Path) -> VideoInfo:
    """Open `path` and read its first frame, so a file that only looks like a video fails here."""
    path = Path(path)
    cap = _open(path)
    try:
        ok, image = cap.read()
        if not ok or image is None:
            raise VideoError(f"{path}: the video has no decodable frames")
        fps = cap.get(cv2.CAP_PROP_FPS)
        return VideoInfo(
            path=path,
            fps=fps if fps and fps > 0 else 25.0,
            frame_count=int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0),
            width=image.shape[1],
            height=image.shape[0],
        )
    finally:
        cap.release()


def iter_video(path: str | Path, camera_id: str = "default") -> Iterator[Frame]:
    """Frames of a video file with media time `t_s = index / fps` (first frame = 0.0).

    Timestamps come from the frame index rather than the container's PTS so that they
    match ground truth written as "seconds from the first decoded frame".
    """
    info = probe_video(path)
    cap = _open(info.path)
    try:
        index = 0
        while True:
            ok, image = cap.read()
            if not ok or image is None:
                break
            yield Frame(image=image, t_s=index / info.fps, index=index, camera_id=camera_id)
            index += 1
    finally:
        cap.release()
