from __future__ import annotations

import numpy as np
import pytest

from fallwatch.config.track import TrackerConfig
from fallwatch.geometry import box_iou
from fallwatch.track.tracker import PersonTracker
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


TALL = [300, 100, 360, 400]
"""Standing: 60 x 300 px."""
WIDE = [180, 360, 480, 420]
"""The same person a moment later on the floor: 300 x 60 px, IoU with TALL only 0.07."""


def test_tall_to_wide_boxes_barely_overlap() -> None:
    # The premise of the next test: IoU alone cannot carry a fall's tall-to-wide change.
    iou = box_iou(np.array([TALL], np.float32), np.array([WIDE], np.float32))[0, 0]
    assert iou < TrackerConfig().min_iou


@pytest.mark.parametrize(("max_center_dist", "same_id"), [(0.8, True), (0.01, False)])
def test_tall_to_wide_change_keeps_the_id_by_centre_distance(
    max_center_dist: float, same_id: bool
) -> None:
    """Centre matching keeps the id through a fall; switched off, the id changes."""
    tr = PersonTracker(TrackerConfig(max_center_dist=max_center_dist))
    first = tr.update(boxes(TALL), 0.0).track_ids[0]
    last = tr.update(boxes(WIDE), 0.2).track_ids[0]
    assert bool(first == last) == same_id


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


def test_a_partial_copy_of_one_person_does_not_steal_a_missed_persons_track(
    config: TrackerConfig | None = None,
) -> None:
    """The faller is missed for a frame as they land, while the model reports a weak
    upper-body copy of a bystander close behind them. The copy must not continue the faller's
    track, so the faller comes back under their own id, with their history."""
    from fallwatch.types import NUM_KEYPOINTS, Poses
    from tests.fakes.poses import make_poses, person_keypoints

    # The bystander stands further back, behind where the faller sits half up.
    bystander = person_keypoints((450.0, 320.0), 220.0, 0.0)
    faller_down = person_keypoints((330.0, 400.0), 250.0, 60.0)

    def with_copy(people: list[np.ndarray], copy_of: np.ndarray, score: float) -> Poses:
        whole = make_poses(people)
        kp = copy_of.copy()[None]
        kps = np.full((1, NUM_KEYPOINTS), 0.6, np.float32)
        kps[0, 13:] = 0.0  # legs unseen
        upper = kp[0, :13]
        box = np.concatenate([upper.min(axis=0) - 5, upper.max(axis=0) + 5])[None]
        copy = Poses.create(xyxy=box, scores=[score], keypoints=kp, keypoint_scores=kps)
        return Poses.concat([whole, copy])

    tracker = PersonTracker(config)
    first = tracker.update(make_poses([bystander, faller_down]), 0.0)
    faller_id = int(first.track_ids[1])
    # The faller is missed; the bystander is seen whole and as a weak partial copy.
    tracker.update(with_copy([bystander], bystander, 0.14), 0.1)
    back = tracker.update(make_poses([bystander, faller_down]), 0.2)
    assert back.track_ids.tolist() == first.track_ids.tolist()
    assert int(back.track_ids[1]) == faller_id


def test_duplicates_keep_two_real_people_who_overlap():
    """A child standing in front of an adult: boxes nest, but the bodies differ."""
    from tests.fakes.poses import make_poses, person_keypoints

    adult = person_keypoints((300.0, 420.0), 300.0, 0.0)
    child = person_keypoints((310.0, 415.0), 150.0, 0.0)
    out = PersonTracker().update(make_poses([adult, child]), 0.0)
    assert len(out) == 2


def test_without_duplicate_removal_the_copy_does_steal_the_track():
    """The scenario above is a real trap: with the removal off, the faller loses their id."""
    with pytest.raises(AssertionError):
        test_a_partial_copy_of_one_person_does_not_steal_a_missed_persons_track(
            TrackerConfig(duplicate_containment=1.01)
        )
