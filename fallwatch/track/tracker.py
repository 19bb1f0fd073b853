"""A small multi-person tracker for pose detections.

Why our own rather than ByteTrack: a falling person's box changes shape fast (tall to
wide within half a second) and a lying person's detection score drops (MoveNet gives
0.2-0.3 to people on the floor), so the score-split and Kalman box model of ByteTrack
lose exactly the track we care about. Here a match uses IoU *or* the distance between
box centres relative to the person's size, tracks coast unseen for `max_age_s`, and
low-score detections may extend an existing track but never start one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fallwatch.config.track import TrackerConfig
from fallwatch.geometry import box_iou
from fallwatch.types import Poses


@dataclass
class _Track:
    track_id: int
    xyxy: npt.NDArray[np.float32]
    last_seen_s: float


class PersonTracker:
    """Gives each person a stable `track_id` across frames."""

    def __init__(self, config: TrackerConfig | None = None):
        self.config = config or TrackerConfig()
        self.reset()

    def reset(self) -> None:
        self._tracks: list[_Track] = []
        self._next_id = 1

    @property
    def active_ids(self) -> list[int]:
        return [t.track_id for t in self._tracks]

    def update(self, poses: Poses, t_s: float) -> Poses:
        """Assign track ids to `poses` seen at time `t_s`; returns a new `Poses`.

        Detections below `new_track_min_score` that match no track are dropped from the
        result, so downstream stages only see people the tracker vouches for.
        """
        cfg = self.config
        self._tracks = [t for t in self._tracks if t_s - t.last_seen_s <= cfg.max_age_s]
        poses = poses[~self._duplicates(poses)]
        n = len(poses)
        ids = np.full(n, -1, np.int64)
        if self._tracks and n:
            track_boxes = np.stack([t.xyxy for t in self._tracks])
            iou = box_iou(track_boxes, poses.xyxy)
            tc = (track_boxes[:, :2] + track_boxes[:, 2:]) / 2
            dc = (poses.xyxy[:, :2] + poses.xyxy[:, 2:]) / 2
            diag = np.hypot(
                track_boxes[:, 2] - track_boxes[:, 0], track_boxes[:, 3] - track_boxes[:, 1]
            )
            dist = np.linalg.norm(tc[:, None, :] - dc[None, :, :], axis=2) / np.maximum(
                diag[:, None], 1.0
            )
            # One similarity: IoU where boxes overlap, else closeness of centres.
            sim = np.maximum(iou, np.clip(1.0 - dist / cfg.max_center_dist, 0, None) * 0.5)
            ok = (iou >= cfg.min_iou) | (dist <= cfg.max_center_dist)
            sim = np.where(ok, sim, -1.0)
            # Greedy on similarity: with at most a handful of people per camera this is
            # as good as Hungarian and has no dependency.
            used_t: set[int] = set()
            used_d: set[int] = set()
            order = np.dstack(np.unravel_index(np.argsort(-sim, axis=None), sim.shape))[0]
            for ti, di in order:
                if sim[ti, di] < 0:
                    break
                if ti in used_t or di in used_d:
                    continue
                used_t.add(int(ti))
                used_d.add(int(di))
                track = self._tracks[ti]
                track.xyxy = poses.xyxy[di].copy()
                track.last_seen_s = t_s
                ids[di] = track.track_id
        for di in range(n):
            if ids[di] == -1 and poses.scores[di] >= cfg.new_track_min_score:
                track = _Track(self._next_id, poses.xyxy[di].copy(), t_s)
                self._next_id += 1
                self._tracks.append(track)
                ids[di] = track.track_id
        keep = ids >= 0
        return poses.with_track_ids(ids)[keep]

    def _duplicates(self, poses: Poses) -> npt.NDArray[np.bool_]:
        """`(n,)` True for detections that repeat part of a higher-scored person.

        Multi-person pose models sometimes report a person twice: whole, and a weak upper
        body on top. Left in, the partial copy steals the track of someone the model
        briefly misses nearby (a person who just fell, scored low), so that person comes
        back as a new track with no upright history and no fall seen.
        """
        n = len(poses)
        dup = np.zeros(n, bool)
        if n < 2:
            return dup
        cfg = self.config
        boxes = poses.xyxy
        area = np.maximum((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]), 1.0)
        seen = (poses.keypoint_scores >= cfg.duplicate_min_keypoint_score) & np.isfinite(
            poses.keypoints
        ).all(axis=2)
        order = np.argsort(-poses.scores, kind="stable")
        for rank, j in enumerate(order):
            for i in order[:rank]:
                if dup[i]:
                    continue
                ix = max(0.0, min(boxes[i, 2], boxes[j, 2]) - max(boxes[i, 0], boxes[j, 0]))
                iy = max(0.0, min(boxes[i, 3], boxes[j, 3]) - max(boxes[i, 1], boxes[j, 1]))
                if ix * iy / area[j] < cfg.duplicate_containment:
                    continue
                shared = seen[i] & seen[j]
                if shared.sum() < cfg.duplicate_min_shared_keypoints:
                    continue
                dist = np.linalg.norm(
                    poses.keypoints[i][shared] - poses.keypoints[j][shared], axis=1
                )
                diag = float(np.hypot(boxes[j, 2] - boxes[j, 0], boxes[j, 3] - boxes[j, 1]))
                if float(np.median(dist)) <= cfg.duplicate_keypoint_dist * max(diag, 1.0):
                    dup[j] = True
                    break
        return dup
