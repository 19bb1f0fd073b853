from pathlib import Path

import cv2
import numpy as np
import pytest


def write_video(
    path: Path, frames: int, size_wh: tuple[int, int] = (64, 48), fps: float = 10.0
) -> Path:
    """A tiny synthetic clip: frame i is a flat grey of level 10 * i."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size_wh)
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((size_wh[1], size_wh[0], 3), 10 * i, np.uint8))
    writer.release()
    return path


@pytest.fixture
def tiny_video(tmp_path: Path) -> Path:
    return write_video(tmp_path / "tiny.mp4", frames=5)
