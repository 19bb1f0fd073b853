"""Frames per second writing 640x480 video on one core: H.264 (PyAV) against the
fallbacks (MPEG-4 Part 2 and VP8 through OpenCV). Prints figures; asserts nothing.

    PYTHONPATH=. python scripts/video_write_bench.py [--frames 300]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from fallwatch.sources.writer import _Cv2Writer, h264_encoder, open_video_writer


def frames(n: int) -> list[np.ndarray]:
    # A moving picture with detail, harder to encode than a still one.
    base = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    return [np.roll(base, 4 * i, axis=1) for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    images = frames(args.frames)
    with tempfile.TemporaryDirectory() as tmp:
        cases = [("h264 (PyAV, " + str(h264_encoder()) + ")", Path(tmp) / "a.mp4")]
        for name, path in [
            *cases,
            ("mpeg4 (OpenCV)", Path(tmp) / "b.avi"),
            ("vp8 (OpenCV)", Path(tmp) / "c.webm"),
        ]:
            if name.startswith("h264") and h264_encoder() is None:
                print(f"{name:28s} not available (pip install 'fallwatch[video]')")
                continue
            writer = (
                _Cv2Writer(path, "mp4v", 25, (640, 480))
                if path.suffix == ".avi"
                else open_video_writer(path, 25, (640, 480))
            )
            t0 = time.perf_counter()
            for image in images:
                writer.write(image)
            writer.close()
            dt = time.perf_counter() - t0
            size = path.stat().st_size / 1e6
            print(f"{name:28s} {args.frames / dt:6.0f} fps  {size:6.1f} MB")


if __name__ == "__main__":
    main()
