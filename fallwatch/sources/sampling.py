"""Analyse a file at a chosen frame rate, as a live camera is analysed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from fallwatch.types import Frame

DEFAULT_ANALYSIS_FPS = 12.0
"""Frames a second the file commands analyse by default. A fall takes about a second and
the rules vote over seconds, so 12 fps loses nothing measurable on the dev clips (35/36
falls, 0 false alarms from 8 to 30 fps) while analysing 30 fps video 2.5x faster."""


class FrameSampler:
    """Keeps frames at most `fps` a second by their timestamps (None or 0: keep all).

    Frames are kept on a fixed time grid rather than "every n-th", so 29.97 and 18 fps
    clips are both analysed at the same rate and the kept frames stay evenly spaced.
    """

    def __init__(self, fps: float | None):
        if fps is not None and fps < 0:
            raise ValueError(f"analysis fps must be >= 0, got {fps}")
        self.period_s = 1.0 / fps if fps else 0.0
        self._next_s: float | None = None

    def keep(self, t_s: float) -> bool:
        if self.period_s == 0.0:
            return True
        if self._next_s is None or t_s + 1e-6 >= self._next_s:
            # Step the grid from the last kept slot, but never let it lag behind the
            # clock (after a gap in timestamps).
            base = t_s if self._next_s is None else max(self._next_s, t_s - self.period_s)
            self._next_s = base + self.period_s
            return True
        return False

    def sample(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        for frame in frames:
            if self.keep(frame.t_s):
                yield frame
