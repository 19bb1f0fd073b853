"""The one video file reader: plain, looping, and the capture thread's file reader on it
(the bench's looping clip is tested in tests/bench)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fallwatch.sources.capture import CaptureError, FileReader, SourceEnded
from fallwatch.sources.video import VideoError, VideoReader, iter_video, probe_video
from tests.fakes.capture import write_video


def test_reader_gives_every_frame_then_none(tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.avi", frames=6, fps=20.0)
    reader = VideoReader(video).open()
    try:
        assert reader.fps == pytest.approx(20.0)
        images = []
        while (image := reader.read()) is not None:
            images.append(image)
            assert reader.decode_ms >= 0.0
        assert len(images) == 6 and images[0].shape == (120, 160, 3)
        assert reader.read() is None and reader.loops == 0
    finally:
        reader.close()


def test_looping_reader_starts_over_and_counts_loops(tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.avi", frames=4)
    reader = VideoReader(video, loop=True).open()
    try:
        means = [float(reader.read().mean()) for _ in range(10)]  # type: ignore[union-attr]
    finally:
        reader.close()
    assert reader.loops == 2
    assert means[4] == pytest.approx(means[0], abs=2.0) and means[8] == pytest.approx(
        means[0], abs=2.0
    )


def test_bad_inputs_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="no such file"):
        VideoReader(tmp_path / "nope.mp4").open()
    with pytest.raises(VideoError, match="not a file"):
        VideoReader(tmp_path).open()
    junk = tmp_path / "junk.mp4"
    junk.write_text("this is not a video")
    with pytest.raises(VideoError, match=r"not a video OpenCV can decode|no decodable frames"):
        probe_video(junk)


def test_iter_video_numbers_frames_in_media_time(tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.avi", frames=5, fps=10.0)
    frames = list(iter_video(video, camera_id="cam"))
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]
    assert [f.t_s for f in frames] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert {f.camera_id for f in frames} == {"cam"}


def test_file_reader_is_the_same_reader_with_capture_errors(tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.avi", frames=3, fps=15.0)
    reader = FileReader(video)
    reader.open()
    try:
        assert reader.fps == pytest.approx(15.0)
        for _ in range(3):
            reader.read()
        with pytest.raises(SourceEnded, match="end of file"):
            reader.read()
    finally:
        reader.close()
    with pytest.raises(CaptureError, match="no such file"):
        FileReader(tmp_path / "gone.mp4").open()
