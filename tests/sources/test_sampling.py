import numpy as np
import pytest

from fallwatch.sources.sampling import FrameSampler
from fallwatch.types import Frame

IMG = np.zeros((4, 4, 3), np.uint8)


def frames(fps: float, seconds: float):
    return [Frame(IMG, i / fps, i) for i in range(int(fps * seconds))]


@pytest.mark.parametrize(
    "src_fps,target,expected",
    [(30.0, 12.0, 120), (18.0, 12.0, 120), (18.0, 30.0, 180), (29.97, 0, 299)],
)
def test_keeps_the_target_rate(src_fps, target, expected):
    kept = list(FrameSampler(target).sample(frames(src_fps, 10.0)))
    assert abs(len(kept) - expected) <= 2
    gaps = np.diff([f.t_s for f in kept])
    if target and target < src_fps:
        # Evenly spread: no gap longer than one source frame past the period.
        assert gaps.max() <= 1 / target + 1 / src_fps + 1e-6


def test_negative_rate_is_rejected():
    with pytest.raises(ValueError, match="analysis fps"):
        FrameSampler(-1)
