"""Ignore zones: polygons where lying down is normal (beds, sofas)."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from fallwatch.config.fall import ZoneConfig


class IgnoreZones:
    """Tests whether points fall inside any configured polygon."""

    def __init__(self, zones: list[ZoneConfig]):
        self.zones = zones
        self._contours = [np.asarray(z.polygon_xy, np.float32).reshape(-1, 1, 2) for z in zones]

    def __bool__(self) -> bool:
        return bool(self._contours)

    def contains(self, points_xy: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
        """`(n, 2)` points -> `(n,)` True where a point is inside (or on) any zone."""
        inside = np.zeros(len(points_xy), bool)
        for contour in self._contours:
            for i, (x, y) in enumerate(points_xy):
                if (
                    not inside[i]
                    and cv2.pointPolygonTest(contour, (float(x), float(y)), False) >= 0
                ):
                    inside[i] = True
        return inside
