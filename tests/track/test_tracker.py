from __future__ import annotations

import numpy as np
import pytest

from fallwatch.geometry import box_iou
from fallwatch.track.tracker import PersonTracker, TrackerConfig
from fallwatch.types import Poses


def boxes(*xyxy, scores=None):
    return Poses.create(xyxy=list(xyxy), scores=scores)


def test_iou():
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30]], np.float32)
    np.testing.assert_allclose(box_iou(a, b), [[1 / 3, 0.0]], atol=1e-6)


def test_ids_are_stable_and_distinct():
    tr = PersonTracker()
    ids = []
    for k in range(10):
        out = tr.update(boxes([10 + k, 10, 60 + k, 200], [300 - k, 10, 350 - k, 200]), k / 10)
        ids.append(tuple(out.track_ids))
    assert len(set(ids)) == 1 and len(set(ids[0])) == 2


def test_tall_to_wide_change_keeps_the_id():
    tr = PersonTracker()
    first = tr.update(boxes([300, 100, 360, 400]), 0.0).track_ids[0]
    # Within a few frames the box becomes wide and low: the same person, fallen.
    mid = tr.update(boxes([260, 250, 420, 400]), 0.1).track_ids[0]
    last = tr.update(boxes([180, 340, 460, 410]), 0.2).track_ids[0]
    assert first == mid == last


def test_missed_detections_within_max_age_keep_the_id():
    tr = PersonTracker(TrackerConfig(max_age_s=1.0))
    a = tr.update(boxes([0, 0, 50, 150]), 0.0).track_ids[0]
    tr.update(Poses.empty(), 0.5)
    assert tr.update(boxes([2, 0, 52, 150]), 0.9).track_ids[0] == a
    tr.update(Poses.empty(), 1.0)
    assert tr.update(boxes([2, 0, 52, 150]), 2.5).track_ids[0] != a


def test_weak_detections_extend_but_never_start_tracks():
    tr = PersonTracker(TrackerConfig(new_track_min_score=0.3))
    assert len(tr.update(boxes([0, 0, 50, 150], scores=[0.15]), 0.0)) == 0
    tid = tr.update(boxes([0, 0, 50, 150], scores=[0.5]), 0.1).track_ids[0]
    out = tr.update(boxes([0, 0, 50, 150], scores=[0.15]), 0.2)
    assert list(out.track_ids) == [tid]


def test_config_is_validated():
    with pytest.raises(ValueError, match="max_age_s"):
        TrackerConfig(max_age_s=0)
