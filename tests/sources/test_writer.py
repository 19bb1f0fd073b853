"""Video files a browser plays: H.264 in MP4 through PyAV; the fallbacks without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from fallwatch.sources.writer import browser_clip_suffix, h264_encoder, open_video_writer
from tests.fakes.media import probe

pytestmark = pytest.mark.skipif(h264_encoder() is None, reason="pip install 'fallwatch[video]'")


def frames(n: int, wh: tuple[int, int]) -> list[np.ndarray]:
    w, h = wh
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    return [np.roll(base, 3 * i, axis=1) for i in range(n)]


def test_mp4_is_h264_yuv420p_with_the_index_first(tmp_path: Path) -> None:
    out = tmp_path / "a.mp4"
    writer = open_video_writer(out, 12.5, (321, 241))
    assert writer.codec == "h264"
    for image in frames(25, (321, 241)):  # odd sides: yuv420p needs even ones
        writer.write(image)
    writer.close()
    p = probe(out)
    assert (p.codec, p.pix_fmt, p.width, p.height, p.frames) == ("h264", "yuv420p", 320, 240, 25)
    assert abs(p.fps - 12.5) < 0.01 and p.moov_first


def test_frames_of_another_size_are_scaled(tmp_path: Path) -> None:
    out = tmp_path / "b.mp4"
    writer = open_video_writer(out, 5, (64, 48))
    writer.write(frames(1, (64, 48))[0])
    writer.write(frames(1, (128, 96))[0])
    writer.close()
    p = probe(out)
    assert (p.width, p.height, p.frames) == (64, 48, 2)


def test_webm_is_vp8_and_clips_prefer_mp4(tmp_path: Path) -> None:
    writer = open_video_writer(tmp_path / "c.webm", 5, (64, 48))
    assert writer.codec == "vp8"
    for image in frames(3, (64, 48)):
        writer.write(image)
    writer.close()
    assert probe(tmp_path / "c.webm").codec == "vp8"
    assert browser_clip_suffix() == ".mp4"


def test_an_unwritable_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot open for writing"):
        open_video_writer(tmp_path / "missing" / "d.mp4", 5, (64, 48))


NO_AV = """
import logging, sys
from pathlib import Path
import numpy as np
sys.modules["av"] = None  # as where PyAV is not installed
logging.basicConfig(level=logging.WARNING, format="%(message)s")
from fallwatch.sources.writer import browser_clip_suffix, open_video_writer
w = open_video_writer(Path(sys.argv[1]), 5, (64, 48))
for i in range(3):
    w.write(np.full((48, 64, 3), i * 50, np.uint8))
w.close()
print(w.codec, browser_clip_suffix())
"""


def test_without_pyav_mp4_falls_back_to_mpeg4_with_a_warning(tmp_path: Path) -> None:
    out = tmp_path / "e.mp4"
    r = subprocess.run(
        [sys.executable, "-c", NO_AV, str(out)], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["mpeg4", ".webm"]
    assert "pip install 'fallwatch[video]'" in r.stderr and "browsers do not" in r.stderr
    cap = cv2.VideoCapture(str(out))
    assert cap.read()[0]
