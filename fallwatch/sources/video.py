"""Video file reading with clear errors for bad input: one reader for every use."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from fallwatch.types import Frame

Image = npt.NDArray[np.uint8]


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
        cap.release()
        raise VideoError(f"{path}: not a video OpenCV can decode")
    return cap


def _fps_or_default(cap: cv2.VideoCapture) -> float:
    # Some containers report no rate (0) or garbage: 25 fps is the common camera rate.
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    return fps if fps > 0 else 25.0


def probe_video(path: str | Path) -> VideoInfo:
    """Open `path` and read its first frame, so a file that only looks like a video fails here."""
    path = Path(path)
    cap = _open(path)
    try:
        ok, image = cap.read()
        if not ok or image is None:
            raise VideoError(f"{path}: the video has no decodable frames")
        return VideoInfo(
            path=path,
            fps=_fps_or_default(cap),
            frame_count=int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0),
            width=image.shape[1],
            height=image.shape[0],
        )
    finally:
        cap.release()


class VideoReader:
    """Decodes a video file picture by picture, optionally starting over at its end.

    The one reader of video files: `iter_video` (evaluation, `fallwatch analyze`), the
    capture thread's `FileReader` (a file played as a camera) and the frame bench's
    looping clip all read through it. Opening does not decode a frame (use
    `probe_video` to insist on one); `read` gives None at the end unless `loop` is set.
    """

    def __init__(self, path: str | Path, loop: bool = False) -> None:
        self.path = Path(path)
        self.loop = loop
        self.fps: float | None = None
        """The file's frame rate (25 when it gives none); set by `open`."""
        self.loops = 0
        """How many times the file started over."""
        self.decode_ms = 0.0
        """Time of the last `read`'s decode, milliseconds (a reopen is not in it)."""
        self._cap: cv2.VideoCapture | None = None

    def open(self) -> VideoReader:
        """Open the file; raises `VideoError` (no such file, not a video)."""
        self.close()
        self._cap = _open(self.path)
        self.fps = _fps_or_default(self._cap)
        return self

    def _decode(self) -> Image | None:
        assert self._cap is not None, "open() first"
        t0 = time.perf_counter()
        ok, image = self._cap.read()
        self.decode_ms = (time.perf_counter() - t0) * 1000
        return image if ok and image is not None else None  # type: ignore[return-value]

    def read(self) -> Image | None:
        """The next picture (BGR uint8); None at the end of a file that does not loop.
        Raises `VideoError` when a looping file gives nothing even after reopening."""
        image = self._decode()
        if image is not None or not self.loop:
            return image
        self.rewind()
        self.loops += 1
        image = self._decode()
        if image is None:
            # A fresh open that still gives nothing would loop forever.
            raise VideoError(f"{self.path}: no frames after reopening")
        return image

    def rewind(self) -> None:
        """Start again from the first frame."""
        # Reopen rather than seek: seeking is inexact on some containers.
        self.open()

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def iter_video(path: str | Path, camera_id: str = "default") -> Iterator[Frame]:
    """Frames of a video file with media time `t_s = index / fps` (first frame = 0.0).

    Timestamps come from the frame index rather than the container's PTS so that they
    match ground truth written as "seconds from the first decoded frame".
    """
    info = probe_video(path)
    reader = VideoReader(info.path).open()
    try:
        index = 0
        while (image := reader.read()) is not None:
            yield Frame(image=image, t_s=index / info.fps, index=index, camera_id=camera_id)
            index += 1
    finally:
        reader.close()
