"""The fall rules and state machine on synthetic keypoint sequences."""

from __future__ import annotations

import numpy as np
import pytest

from fallwatch.config.fall import FallConfig, ZoneConfig
from fallwatch.fall.classifier import FallClassifier
from fallwatch.track.tracker import PersonTracker
from fallwatch.types import EventKind, FallEvent, FallState
from tests.fakes.poses import make_poses, person_keypoints

FPS = 20.0
FEET = (320.0, 420.0)
H = 300.0


def standing(feet=FEET):
    return person_keypoints(feet, H, 0.0)


def lying(feet=FEET):
    # Lying on the floor: feet where they stood, body along the floor.
    return person_keypoints((feet[0] - 140, feet[1]), H, 90.0)


def falling(progress: float, feet=FEET):
    """Between standing (0) and lying (1): rotating about the feet."""
    return person_keypoints((feet[0] - 140 * progress, feet[1]), H, 90.0 * progress)


def bending(torso_deg: float, feet=FEET):
    """Legs straight, torso rotated forward about the hips (picking something up)."""
    kp = standing(feet)
    hips = kp[[11, 12]].mean(axis=0)
    a = np.radians(torso_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], np.float32)
    upper = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    kp[upper] = (kp[upper] - hips) @ rot.T + hips
    return kp


def sitting(feet=FEET):
    """Seated on a chair: thighs horizontal, torso upright, head ~0.35 H lower."""
    kp = standing(feet)
    drop = 0.35 * H
    kp[:13, 1] += drop  # head, arms, hips move down
    kp[[11, 12], 0] -= 0.25 * H  # hips back over the chair
    kp[:11, 0] -= 0.25 * H
    kp[[13, 14], 1] = kp[[11, 12], 1]  # knees at hip height
    return kp


def run(frames, config: FallConfig) -> tuple[list[FallEvent], FallClassifier]:
    """frames: list of lists of keypoint arrays, one list per frame at FPS."""
    tracker = PersonTracker()
    clf = FallClassifier(config)
    events: list[FallEvent] = []
    for i, people in enumerate(frames):
        t = i / FPS
        tracked = tracker.update(make_poses(people), t)
        events.extend(clf.update(tracked, t).events)
    return events, clf


def seconds(s: float) -> int:
    return round(s * FPS)


def fall_sequence(down_s: float = 4.0, feet=FEET):
    seq = [[standing(feet)] for _ in range(seconds(2))]
    n = seconds(0.5)
    seq += [[falling((k + 1) / n, feet)] for k in range(n)]
    seq += [[lying(feet)] for _ in range(seconds(down_s))]
    return seq


def alerts(events):
    return [e for e in events if e.kind in (EventKind.FALL, EventKind.FOUND_DOWN)]


def test_fall_raises_one_alert_after_confirm_time():
    events, _ = run(fall_sequence(down_s=5.0), FallConfig(confirm_s=2.0))
    (alert,) = alerts(events)
    assert alert.kind == EventKind.FALL
    assert alert.fall_seen_s is not None and 2.0 <= alert.fall_seen_s <= 2.6
    # Alerted once the person has been down for confirm_s, not before.
    assert alert.down_for_s == pytest.approx(2.0, abs=0.1)
    assert 2.0 <= alert.down_from_s <= 2.6


def test_no_alert_before_confirm_time():
    events, clf = run(fall_sequence(down_s=1.5), FallConfig(confirm_s=2.0))
    assert alerts(events) == []
    assert any(p.state == FallState.DOWN for p in clf._people.values())


@pytest.mark.parametrize("torso_deg", [60.0, 90.0])
def test_bending_over_is_not_a_fall(torso_deg):
    seq = [[standing()] for _ in range(seconds(2))]
    seq += [[bending(torso_deg * k / 10)] for k in range(1, 11)]
    seq += [[bending(torso_deg)] for _ in range(seconds(4))]
    seq += [[standing()] for _ in range(seconds(2))]
    events, _ = run(seq, FallConfig(confirm_s=2.0))
    assert alerts(events) == []


def test_sitting_down_is_not_a_fall():
    seq = [[standing()] for _ in range(seconds(2))] + [[sitting()] for _ in range(seconds(20))]
    events, _ = run(seq, FallConfig(confirm_s=2.0, found_down_s=5.0))
    assert alerts(events) == []


def test_lying_in_ignore_zone_is_ignored_but_found_outside():
    bed = ZoneConfig(name="bed", polygon_xy=[(100, 350), (400, 350), (400, 460), (100, 460)])
    seq = [[lying()] for _ in range(seconds(8))]
    events, clf = run(seq, FallConfig(confirm_s=2.0, found_down_s=5.0, zones=[bed]))
    assert alerts(events) == []
    assert all(p.ignored for p in clf._people.values())
    # The same person outside any zone, with no fall seen: found down after found_down_s.
    events, _ = run(seq, FallConfig(confirm_s=2.0, found_down_s=5.0))
    (alert,) = alerts(events)
    assert alert.kind == EventKind.FOUND_DOWN
    assert alert.fall_seen_s is None
    assert alert.down_for_s == pytest.approx(5.0, abs=0.1)


def test_two_people_only_the_faller_alerts():
    other_feet = (560.0, 420.0)
    fall = fall_sequence(down_s=4.0, feet=(200.0, 420.0))
    seq = [[*people, standing(other_feet)] for people in fall]
    events, clf = run(seq, FallConfig(confirm_s=2.0))
    (alert,) = alerts(events)
    assert alert.xyxy[2] < 450  # the faller's box, not the bystander's
    states = {p.track_id: p.state for p in clf._people.values()}
    assert sorted(states.values()) == sorted([FallState.ALERTED, FallState.UPRIGHT])


def test_dropped_frames_do_not_reset_the_timer():
    seq = fall_sequence(down_s=4.0)
    # The detector misses the lying person in 1 of every 4 frames, and once sees them upright.
    start = seconds(2.5)
    for k in range(start, len(seq)):
        if k % 4 == 0:
            seq[k] = []
    seq[start + 10] = [standing()]
    events, _ = run(seq, FallConfig(confirm_s=2.0))
    (alert,) = alerts(events)
    assert alert.down_for_s < 2.6


def test_one_event_while_down_then_recovered():
    seq = fall_sequence(down_s=30.0) + [[standing()] for _ in range(seconds(4))]
    events, _ = run(seq, FallConfig(confirm_s=2.0, found_down_s=5.0))
    kinds = [e.kind for e in events]
    assert kinds == [EventKind.FALL, EventKind.RECOVERED]


def test_lost_and_found_again_at_the_same_place_does_not_repeat():
    seq = fall_sequence(down_s=4.0)
    seq += [[] for _ in range(seconds(5))]  # the lying person vanishes (occlusion)
    seq += [[lying()] for _ in range(seconds(10))]
    events, _ = run(seq, FallConfig(confirm_s=2.0, found_down_s=5.0, lost_track_s=2.0))
    assert [e.kind for e in alerts(events)] == [EventKind.FALL]


def test_min_person_size_ignores_tiny_people():
    tiny = [person_keypoints((320, 420), 15.0, 90.0)]
    events, _ = run(
        [tiny for _ in range(seconds(8))],
        FallConfig(confirm_s=2.0, found_down_s=3.0, min_person_height_px=40),
    )
    assert alerts(events) == []


def test_down_scores_for_stills():
    clf = FallClassifier(FallConfig())
    scores = clf.down_scores(make_poses([standing(), lying((320, 200)), sitting((100, 420))]))
    assert scores[0] < 0.3
    assert scores[1] >= clf.config.down_enter
    assert scores[2] < clf.config.down_enter


def test_fallen_score_from_a_box_detector_decides_alone_and_vetoes_with_pose():
    from fallwatch.types import Poses

    clf = FallClassifier(FallConfig())
    boxes_only = Poses.create(xyxy=[[0, 0, 100, 40], [0, 0, 40, 100]], fallen_scores=[0.9, 0.1])
    s = clf.down_scores(boxes_only)
    assert s[0] == pytest.approx(0.9) and s[1] == pytest.approx(0.1)
    hybrid = make_poses([lying((320, 200))])
    hybrid = Poses.create(
        xyxy=hybrid.xyxy,
        keypoints=hybrid.keypoints,
        keypoint_scores=hybrid.keypoint_scores,
        fallen_scores=[0.05],
    )
    # A low fallen score vetoes the pose: the lying skeleton scores far below down.
    assert clf.down_scores(hybrid)[0] < 0.2
    agree = Poses.create(
        xyxy=hybrid.xyxy,
        keypoints=hybrid.keypoints,
        keypoint_scores=hybrid.keypoint_scores,
        fallen_scores=[0.7],
    )
    assert clf.down_scores(agree)[0] >= clf.config.down_enter


def test_config_rejects_exit_above_enter():
    with pytest.raises(ValueError, match="down_exit"):
        FallConfig(down_enter=0.5, down_exit=0.7)


def test_zone_needs_three_points():
    with pytest.raises(ValueError, match="at least 3 points"):
        ZoneConfig(polygon_xy=[(0, 0), (1, 1)])


def all_fours(feet=FEET):
    """Hands and knees, side view: torso horizontal, thighs vertical, shins on the floor."""
    x, y = feet
    kp = np.zeros((17, 2), np.float32)
    hip = (x, y - 0.25 * H)
    shoulder = (x + 0.3 * H, y - 0.27 * H)
    kp[[11, 12]] = hip
    kp[[13, 14]] = (x, y - 0.02 * H)  # knees under the hips
    kp[[15, 16]] = (x - 0.22 * H, y - 0.02 * H)  # shins along the floor
    kp[[5, 6]] = shoulder
    kp[[7, 8]] = (shoulder[0], y - 0.14 * H)
    kp[[9, 10]] = (shoulder[0], y - 0.02 * H)  # hands on the floor
    kp[0:5] = (shoulder[0] + 0.1 * H, y - 0.3 * H)
    return kp


def sitting_on_floor(feet=FEET):
    """Legs stretched along the floor, torso upright."""
    x, y = feet
    kp = np.zeros((17, 2), np.float32)
    kp[[15, 16]] = (x, y)
    kp[[13, 14]] = (x - 0.25 * H, y - 0.03 * H)
    kp[[11, 12]] = (x - 0.5 * H, y - 0.05 * H)
    kp[[5, 6]] = (x - 0.52 * H, y - 0.35 * H)
    kp[[7, 8]] = (x - 0.45 * H, y - 0.2 * H)
    kp[[9, 10]] = (x - 0.4 * H, y - 0.08 * H)
    kp[0:5] = (x - 0.52 * H, y - 0.48 * H)
    return kp


@pytest.mark.parametrize(
    "posture", [all_fours, sitting_on_floor], ids=["all_fours", "sitting_on_floor"]
)
def test_floor_postures_that_are_not_lying(posture):
    clf = FallClassifier(FallConfig())
    assert clf.down_scores(make_poses([posture()]))[0] < clf.config.down_enter
    # Found in that posture and staying in it: never found down.
    events, _ = run([[posture()] for _ in range(seconds(15))], FallConfig(found_down_s=10.0))
    assert alerts(events) == []


def blend(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    return (1 - k) * a + k * b


def descend(start: np.ndarray, end: np.ndarray, over_s: float) -> list[list[np.ndarray]]:
    n = max(1, seconds(over_s))
    return [[blend(start, end, (j + 1) / n)] for j in range(n)]


def kneeling_curled(feet=FEET):
    """Knees on the floor, hips over the heels, head down near the floor (curled up)."""
    x, y = feet
    kp = np.zeros((17, 2), np.float32)
    kp[[15, 16]] = (x - 0.25 * H, y)
    kp[[13, 14]] = (x, y - 0.02 * H)
    kp[[11, 12]] = (x - 0.15 * H, y - 0.2 * H)
    kp[[5, 6]] = (x + 0.12 * H, y - 0.14 * H)
    kp[[7, 8]] = (x + 0.18 * H, y - 0.06 * H)
    kp[[9, 10]] = (x + 0.28 * H, y - 0.03 * H)
    kp[0:5] = (x + 0.24 * H, y - 0.06 * H)
    return kp


def kneeling_up(feet=FEET):
    """Knees on the floor, torso upright, hands down: how people get down on purpose."""
    x, y = feet
    kp = np.zeros((17, 2), np.float32)
    kp[[15, 16]] = (x - 0.25 * H, y)
    kp[[13, 14]] = (x, y - 0.02 * H)
    kp[[11, 12]] = (x - 0.05 * H, y - 0.27 * H)
    kp[[5, 6]] = (x - 0.02 * H, y - 0.57 * H)
    kp[[7, 8]] = (x + 0.02 * H, y - 0.42 * H)
    kp[[9, 10]] = (x + 0.05 * H, y - 0.28 * H)
    kp[0:5] = (x, y - 0.7 * H)
    return kp


def get_down_on_purpose(posture, feet=FEET):
    """Kneel first (1 s), pause there (1 s), then go on into `posture` (1 s)."""
    seq = descend(standing(feet), kneeling_up(feet), 1.0)
    seq += [[kneeling_up(feet)] for _ in range(seconds(1.0))]
    return seq + descend(kneeling_up(feet), posture(feet), 1.0)


def plank(lowered: float, feet=FEET):
    """Push-up: body straight and near horizontal, held up on straight arms under the
    shoulders; `lowered` in [0, 1] bends the arms towards the floor."""
    x, y = feet
    kp = np.zeros((17, 2), np.float32)
    shoulder_y = y - (0.3 - 0.18 * lowered) * H
    kp[[15, 16]] = (x, y)
    kp[[13, 14]] = (x + 0.25 * H, y - 0.06 * H - 0.04 * (1 - lowered) * H)
    kp[[11, 12]] = (x + 0.5 * H, y - 0.12 * H - 0.08 * (1 - lowered) * H)
    kp[[5, 6]] = (x + 0.8 * H, shoulder_y)
    kp[[7, 8]] = (x + 0.8 * H, (shoulder_y + y) / 2)
    kp[[9, 10]] = (x + 0.82 * H, y)
    kp[0:5] = (x + 0.92 * H, shoulder_y - 0.03 * H)
    return kp


def seated_on_bed(feet=FEET):
    """Sitting on the edge of a bed: torso upright, hips at seat height."""
    return sitting(feet)


def sit_on_bed_for(seconds_s: float) -> list[list[np.ndarray]]:
    """Standing, then sitting down on the edge of the bed and staying there."""
    seq = [[standing()] for _ in range(seconds(2))]
    seq += descend(standing(), seated_on_bed(), 1.5)
    return seq + [[seated_on_bed()] for _ in range(seconds(seconds_s))]


def lying_on_bed(feet=FEET):
    """Lying along a bed whose surface is 0.3 H above the floor."""
    x, y = feet
    return person_keypoints((x - 0.6 * H, y - 0.3 * H), H, 90.0)


def fast_fall_then(posture, down_s: float, feet=FEET):
    """Standing, a fall towards horizontal in 0.5 s, then `posture` held for `down_s`."""
    seq = [[standing(feet)] for _ in range(seconds(2))]
    n = seconds(0.5)
    seq += [[falling((k + 1) / n, feet)] for k in range(n)]
    seq += descend(lying(feet), posture(feet), 0.5)
    seq += [[posture(feet)] for _ in range(seconds(down_s))]
    return seq


@pytest.mark.parametrize(
    "posture", [sitting_on_floor, kneeling_curled], ids=["sitting_legs_out", "kneeling_curled"]
)
def test_after_a_fall_any_floor_posture_is_down(posture):
    """Fallen and then sitting up with the legs out, or curled on the knees with the head
    low: still down, alerted after the confirm time, and never recovered while there."""
    events, clf = run(
        fast_fall_then(posture, down_s=8.0), FallConfig(confirm_s=3.0, found_down_s=60.0)
    )
    (alert,) = alerts(events)
    assert alert.kind == EventKind.FALL and alert.fall_seen_s is not None
    assert not [e for e in events if e.kind == EventKind.RECOVERED]
    assert clf._people[1].state == FallState.ALERTED


def test_after_a_fall_standing_up_again_recovers():
    seq = fast_fall_then(sitting_on_floor, down_s=4.0)
    seq += descend(sitting_on_floor(), standing(), 1.0) + [[standing()] for _ in range(seconds(4))]
    events, _clf = run(seq, FallConfig(confirm_s=2.0))
    assert [e.kind for e in events] == [EventKind.FALL, EventKind.RECOVERED]


@pytest.mark.parametrize("posture", [sitting_on_floor, kneeling_curled], ids=["sit", "kneel"])
def test_sitting_or_kneeling_down_on_the_floor_on_purpose_is_not_a_fall(posture):
    """A controlled descent (kneeling first) into a floor posture is not a fall."""
    seq = [[standing()] for _ in range(seconds(2))]
    seq += get_down_on_purpose(posture)
    seq += [[posture()] for _ in range(seconds(15))]
    events, _ = run(seq, FallConfig(confirm_s=2.0, found_down_s=10.0))
    assert alerts(events) == []


def test_push_ups_are_not_lying():
    """Down into a plank, then push-ups for 15 s: the body is held up on straight arms."""
    seq = [[standing()] for _ in range(seconds(2))]
    seq += get_down_on_purpose(lambda feet: plank(0.0, feet))
    for k in range(seconds(15)):
        seq.append([plank(0.3 + 0.3 * np.sin(2 * np.pi * k / seconds(1.5)))])
    events, _ = run(seq, FallConfig(confirm_s=2.0, found_down_s=10.0))
    assert alerts(events) == []


def test_arm_support_feature_tells_a_plank_from_lying():
    from fallwatch.posture import posture_features

    feats = posture_features(make_poses([plank(0.0), lying()]))
    assert feats.arm_support.tolist() == [True, False]


def test_crawling_is_not_a_fall():
    """On all fours, moving across the floor after getting down on purpose."""
    seq = [[standing()] for _ in range(seconds(2))]
    seq += get_down_on_purpose(all_fours)
    for k in range(seconds(15)):
        feet = (FEET[0] + 4.0 * k, FEET[1])
        seq.append([all_fours(feet)])
    events, _ = run(seq, FallConfig(confirm_s=2.0, found_down_s=10.0))
    assert alerts(events) == []


def test_slow_lie_down_on_a_raised_surface_is_resting():
    """Sit on the bed first, then lie back slowly (3 s) on it: no found-down alert however
    long they rest there."""
    seq = sit_on_bed_for(2.0) + descend(seated_on_bed(), lying_on_bed(), 3.0)
    seq += [[lying_on_bed()] for _ in range(seconds(20))]
    events, clf = run(seq, FallConfig(confirm_s=2.0, found_down_s=10.0))
    assert alerts(events) == []
    assert clf._people[1].state == FallState.DOWN


def test_a_fall_next_to_the_bed_still_alarms():
    """Sat on the bed, stood up and fell to the floor beside it: a fall."""
    seq = sit_on_bed_for(2.0) + descend(seated_on_bed(), standing(), 1.0)
    seq += fast_fall_then(lambda feet: lying(feet), down_s=4.0)
    events, _ = run(seq, FallConfig(confirm_s=2.0, found_down_s=10.0))
    (alert,) = alerts(events)
    assert alert.kind == EventKind.FALL


def test_lying_down_slowly_from_a_crouch_is_found_down_not_a_fall():
    """No upright posture before lying: no fall seen, so the longer found-down timer applies."""
    seq = [[bending(70.0)] for _ in range(seconds(1))] + [[lying()] for _ in range(seconds(12))]
    events, _ = run(seq, FallConfig(confirm_s=2.0, found_down_s=10.0))
    (alert,) = alerts(events)
    assert alert.kind == EventKind.FOUND_DOWN and alert.down_for_s >= 10.0


def test_box_only_detector_fall_is_seen_from_the_box_drop():
    """A YOLO fall model gives boxes and a fallen score, no skeleton: a tall "normal" box
    that drops into a wide "fallen" box is a fall (confirm_s), not found-down."""
    from fallwatch.types import Poses

    tracker, clf = PersonTracker(), FallClassifier(FallConfig(confirm_s=2.0, found_down_s=30.0))
    events = []
    for k in range(seconds(6)):
        t = k / FPS
        if t < 2.0:
            box, fallen = [300, 100, 380, 420], 0.02
        elif t < 2.5:
            f = (t - 2.0) / 0.5
            box, fallen = [300 - 120 * f, 100 + 240 * f, 380 + 60 * f, 420], 0.3
        else:
            box, fallen = [180, 340, 440, 420], 0.8
        poses = Poses.create(xyxy=[box], scores=[0.7], fallen_scores=[fallen])
        events += clf.update(tracker.update(poses, t), t).events
    (alert,) = alerts(events)
    assert alert.kind == EventKind.FALL and alert.fall_seen_s is not None
