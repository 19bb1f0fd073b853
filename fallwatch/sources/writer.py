"""Video files a browser plays: H.264 in MP4 through PyAV (`fallwatch[video]`).

PyAV's wheels bundle FFmpeg with libx264; OpenCV's FFmpeg here cannot encode H.264, and
its VP8/VP9 are too slow to keep up with analysis. Without PyAV an `.mp4` is written as
MPEG-4 Part 2 (`mp4v`) with a warning: players such as VLC read it, browsers do not. A
`.webm` is VP8 through OpenCV, which browsers play.
"""

from __future__ import annotations

import functools
import logging
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

Image = npt.NDArray[Any]
"""A BGR picture, 8 bits a channel (as OpenCV decodes it)."""

H264_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv"})
H264_ENCODERS = ("libx264", "libopenh264")
X264_OPTIONS = {"preset": "veryfast", "crf": "23"}
"""veryfast: about 170 fps at 640x480 on one core, well ahead of analysis."""


class VideoFileWriter(Protocol):
    codec: str
    """What the file holds: h264, mpeg4 or vp8."""

    def write(self, image: Image) -> None: ...

    def close(self) -> None: ...


@functools.cache
def h264_encoder() -> str | None:
    """The H.264 encoder PyAV offers here, or None (PyAV missing or built without one)."""
    try:
        import av
    except ImportError:
        return None
    for name in H264_ENCODERS:
        try:
            av.codec.Codec(name, "w")
        except ValueError:  # av.codec.codec.UnknownCodecError
            continue
        return name
    return None


def browser_clip_suffix() -> str:
    """`.mp4` (H.264) when it can be written here, else `.webm` (VP8): both play in browsers."""
    return ".mp4" if h264_encoder() is not None else ".webm"


class _AvWriter:
    codec = "h264"

    def __init__(self, path: Path, encoder: str, fps: float, size: tuple[int, int]) -> None:
        import av

        # yuv420p needs even sides: an odd last row or column is dropped.
        self.width, self.height = size[0] & ~1, size[1] & ~1
        rate = Fraction(fps).limit_denominator(1001) if fps > 0 else Fraction(25)
        try:
            # FFmpeg opens the file only at the first frame: fail here instead.
            path.open("wb").close()
            self.container = av.open(str(path), "w", options={"movflags": "+faststart"})
        except (OSError, av.FFmpegError) as exc:
            raise ValueError(f"{path}: cannot open for writing: {exc}") from exc
        stream = self.container.add_stream(encoder, rate=rate)
        assert isinstance(stream, av.VideoStream)
        self.stream: av.VideoStream = stream
        self.stream.width, self.stream.height = self.width, self.height
        self.stream.pix_fmt = "yuv420p"
        if encoder == "libx264":
            self.stream.options = dict(X264_OPTIONS)
        self.time_base = 1 / rate
        self.n = 0

    def write(self, image: Image) -> None:
        import av

        h, w = image.shape[:2]
        if (w, h) != (self.width, self.height):
            if (w & ~1, h & ~1) == (self.width, self.height):
                image = image[: self.height, : self.width]
            else:
                image = cv2.resize(image, (self.width, self.height))
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
        frame.pts = self.n
        frame.time_base = self.time_base
        self.n += 1
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        try:
            for packet in self.stream.encode():
                self.container.mux(packet)
        finally:
            self.container.close()


class _Cv2Writer:
    def __init__(self, path: Path, fourcc: str, fps: float, size: tuple[int, int]) -> None:
        self.codec = "vp8" if fourcc == "VP80" else "mpeg4"
        self.size = size
        # For WebM OpenCV prints a harmless "tag 'VP80' is not supported ... falling
        # back" line: the WebM muxer picks the VP8 tag itself.
        code = cv2.VideoWriter.fourcc(*fourcc)
        self.writer = cv2.VideoWriter(str(path), code, fps if fps > 0 else 25.0, size)
        if not self.writer.isOpened():
            raise ValueError(f"{path}: cannot open for writing ({self.codec})")

    def write(self, image: Image) -> None:
        if image.shape[1::-1] != self.size:
            image = cv2.resize(image, self.size)
        self.writer.write(image)

    def close(self) -> None:
        self.writer.release()


def open_video_writer(path: Path, fps: float, size: tuple[int, int]) -> VideoFileWriter:
    """A writer for BGR frames of `size` (w, h) at `fps`, its codec chosen by the suffix:
    `.webm` VP8, `.mp4`/`.mov`/`.mkv`/`.m4v` H.264 (MPEG-4 Part 2 without PyAV), other
    suffixes MPEG-4 Part 2. Raises ValueError when the file cannot be opened."""
    suffix = path.suffix.lower()
    if suffix == ".webm":
        return _Cv2Writer(path, "VP80", fps, size)
    encoder = h264_encoder() if suffix in H264_SUFFIXES else None
    if encoder is not None:
        return _AvWriter(path, encoder, fps, size)
    if suffix in H264_SUFFIXES:
        _warn_no_h264()
    return _Cv2Writer(path, "mp4v", fps, size)


@functools.cache
def _warn_no_h264() -> None:
    log.warning(
        "no H.264 encoder (PyAV is not installed: pip install 'fallwatch[video]'): "
        "writing MPEG-4 Part 2, which video players read and browsers do not"
    )
