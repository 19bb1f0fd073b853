"""Draws skeletons, boxes, track ids, states and down timers on a frame."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from fallwatch.config.fall import ZoneConfig
from fallwatch.types import FallState, FallUpdate, Poses, TrackStatus

SKELETON_EDGES: tuple[tuple[int, int], ...] = (
    (0, 1), (0, 2), (1, 3), (2, 4), (5, 6), (5, 7), (7, 9), (6, 8), (8, 10),
    (5, 11), (6, 12), (11, 12), (11, 13), (13, 15), (12, 14), (14, 16),
)  # fmt: skip

STATE_COLORS_BGR: dict[FallState, tuple[int, int, int]] = {
    FallState.UPRIGHT: (80, 200, 80),
    FallState.FALLING: (0, 200, 255),
    FallState.DOWN: (0, 140, 255),
    FallState.ALERTED: (0, 0, 255),
}
IGNORED_COLOR_BGR = (160, 160, 160)
ZONE_COLOR_BGR = (200, 120, 0)


class Annotator:
    """Draws one frame's analysis. `privacy=True` draws on a black canvas instead of the picture."""

    def __init__(
        self,
        zones: list[ZoneConfig] | None = None,
        min_keypoint_score: float = 0.2,
        privacy: bool = False,
    ):
        self.zones = zones or []
        self.min_keypoint_score = min_keypoint_score
        self.privacy = privacy
        self._zone_polys = [
            np.asarray(z.polygon_xy, np.int32).reshape(-1, 1, 2) for z in self.zones
        ]

    def annotate(
        self, image: npt.NDArray[np.uint8], poses: Poses, update: FallUpdate
    ) -> npt.NDArray[np.uint8]:
        """Returns a new image; the input is not modified."""
        canvas = np.zeros_like(image) if self.privacy else image.copy()
        scale = max(1.0, canvas.shape[0] / 480)
        thick = max(1, round(2 * scale))
        self._draw_zones(canvas, scale, thick)
        status = {s.track_id: s for s in update.tracks}
        for i in range(len(poses)):
            self._draw_person(canvas, poses, i, status.get(int(poses.track_ids[i])), scale, thick)
        if any(s.state == FallState.ALERTED for s in update.tracks):
            self._draw_alarm(canvas, scale, thick)
        return canvas

    def _draw_zones(self, canvas: npt.NDArray[np.uint8], scale: float, thick: int) -> None:
        h, w = canvas.shape[:2]
        for poly, zone in zip(self._zone_polys, self.zones, strict=True):
            cv2.polylines(canvas, [poly], True, ZONE_COLOR_BGR, thick)
            # The name inside the zone's top-left corner and on the picture, whichever
            # corner was drawn first (the editor lets people start anywhere).
            x = min(max(int(poly[:, 0, 0].min() + 4 * scale), 0), w - 1)
            y = min(max(int(poly[:, 0, 1].min() + 16 * scale), int(14 * scale)), h - 4)
            cv2.putText(
                canvas,
                zone.name,
                (x, y),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.5 * scale,
                ZONE_COLOR_BGR,
                1,
                cv2.LINE_AA,
            )

    def _draw_person(
        self,
        canvas: npt.NDArray[np.uint8],
        poses: Poses,
        i: int,
        st: TrackStatus | None,
        scale: float,
        thick: int,
    ) -> None:
        if st is None:
            color = IGNORED_COLOR_BGR
        else:
            color = IGNORED_COLOR_BGR if st.ignored else STATE_COLORS_BGR[st.state]
        kp = poses.keypoints[i]
        ok = (poses.keypoint_scores[i] >= self.min_keypoint_score) & np.isfinite(kp).all(axis=1)
        for a, b in SKELETON_EDGES:
            if ok[a] and ok[b]:
                cv2.line(
                    canvas,
                    (int(kp[a, 0]), int(kp[a, 1])),
                    (int(kp[b, 0]), int(kp[b, 1])),
                    color,
                    thick,
                    cv2.LINE_AA,
                )
        for j in np.flatnonzero(ok):
            cv2.circle(canvas, (int(kp[j, 0]), int(kp[j, 1])), thick + 1, color, -1, cv2.LINE_AA)
        x1, y1, x2, y2 = (int(v) for v in poses.xyxy[i])
        cv2.rectangle(canvas, (x1, y1), (x2, y2), color, thick)
        label = f"#{poses.track_ids[i]}"
        if st is not None:
            label += f" {st.state.value}"
            if st.state in (FallState.DOWN, FallState.ALERTED):
                label += f" {st.down_for_s:.1f}s"
            if st.ignored:
                label += " (ignored)"
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale, 1)
        ty = max(y1, th + 4)
        cv2.rectangle(canvas, (x1, ty - th - 4), (x1 + tw + 4, ty), color, -1)
        cv2.putText(
            canvas,
            label,
            (x1 + 2, ty - 3),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.5 * scale,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )

    @staticmethod
    def _draw_alarm(canvas: npt.NDArray[np.uint8], scale: float, thick: int) -> None:
        cv2.rectangle(
            canvas,
            (0, 0),
            (canvas.shape[1] - 1, canvas.shape[0] - 1),
            STATE_COLORS_BGR[FallState.ALERTED],
            4 * thick,
        )
        cv2.putText(
            canvas,
            "PERSON DOWN",
            (10, int(30 * scale)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.9 * scale,
            (0, 0, 255),
            2,
            cv2.LINE_AA,
        )
