"""Ignore zones on the annotated live view: the outline, and the name inside the zone
wherever its first corner is."""

from __future__ import annotations

import numpy as np
import pytest

from fallwatch.config.fall import ZoneConfig
from fallwatch.pipeline.annotator import ZONE_COLOR_BGR, Annotator
from fallwatch.types import FallUpdate, Poses

Corners = list[tuple[float, float]]
TOP_LEFT_FIRST: Corners = [(100, 100), (300, 100), (300, 250), (100, 250)]
BOTTOM_RIGHT_FIRST: Corners = [(630, 475), (500, 475), (500, 400), (630, 400)]


def _annotate(name: str, corners: Corners) -> np.ndarray:
    annotator = Annotator([ZoneConfig(name=name, polygon_xy=corners)])
    return annotator.annotate(np.zeros((480, 640, 3), np.uint8), Poses.empty(), FallUpdate())


@pytest.mark.parametrize("corners", [TOP_LEFT_FIRST, BOTTOM_RIGHT_FIRST])
def test_a_zone_shows_its_outline_and_its_name_inside_it(corners: Corners) -> None:
    named = _annotate("bed", corners)
    x0, y0 = (int(min(c[i] for c in corners)) for i in (0, 1))
    x1, y1 = (int(max(c[i] for c in corners)) for i in (0, 1))
    assert tuple(named[y0, (x0 + x1) // 2]) == ZONE_COLOR_BGR  # on the top edge
    # The name's pixels: what differs from the same zone with no name.
    label = np.argwhere((named != _annotate("", corners)).any(axis=2))
    assert len(label) > 20, "the name is not drawn on the picture"
    ys, xs = label[:, 0], label[:, 1]
    assert x0 <= xs.min() and xs.max() <= x1 and y0 <= ys.min() and ys.max() <= y1
