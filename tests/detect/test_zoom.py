"""The zoomed second look: crop geometry, mapping back to frame pixels, the refine rules,
and the real model on a real person made small."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from fallwatch.config.detector import PoseDetectorConfig, ZoomConfig
from fallwatch.detect.letterbox import letterbox
from fallwatch.detect.pose import MoveNetDetector
from fallwatch.detect.zoom import (
    MAX_UPSCALE,
    ZoomAction,
    ZoomCandidate,
    ZoomPass,
    crop_region,
    zoom_pass_for,
)
from fallwatch.sources.video import iter_video
from fallwatch.types import NUM_KEYPOINTS, Frame, Poses
from tests.fakes.poses import FakeRegionModel

INPUT_WH = (256, 192)


# ---------------------------------------------------------------- crop geometry
@pytest.mark.parametrize(
    "xyxy,frame_wh,expected",
    [
        # 50 px tall person mid-frame: 80 px high (1.6x), 4:3 wide, centred.
        ((300, 200, 320, 250), (640, 480), (256, 185, 363, 265)),
        # Near the left/top corner: slid inside, same size.
        ((0, 0, 20, 50), (640, 480), (0, 0, 107, 80)),
        # Near the right/bottom corner.
        ((620, 430, 640, 480), (640, 480), (533, 400, 640, 480)),
        # Bigger than the frame: cut to the frame.
        ((0, 0, 600, 400), (640, 480), (0, 0, 640, 480)),
    ],
)
def test_crop_region(xyxy, frame_wh, expected) -> None:  # type: ignore[no-untyped-def]
    assert crop_region(xyxy, frame_wh, INPUT_WH, margin=1.6) == expected


def test_crop_covers_a_lying_person_with_margin() -> None:
    x1, y1, x2, y2 = crop_region((200, 300, 320, 330), (640, 480), INPUT_WH, margin=1.6)
    assert x2 - x1 >= 1.6 * 120 and (x2 - x1) / (y2 - y1) == pytest.approx(4 / 3, abs=0.02)
    assert x1 < 200 and x2 > 320 and y1 < 300 and y2 > 330


def test_crop_is_never_enlarged_more_than_max_upscale() -> None:
    _, y1, _, y2 = crop_region((100, 100, 104, 110), (640, 480), INPUT_WH, margin=1.6)
    assert y2 - y1 >= INPUT_WH[1] / MAX_UPSCALE


def test_crop_rejects_a_margin_below_one() -> None:
    with pytest.raises(ValueError, match="margin must be >= 1"):
        crop_region((0, 0, 10, 10), (640, 480), INPUT_WH, margin=0.5)


# ---------------------------------------------------------------- mapping back
@pytest.mark.parametrize("region", [(257, 185, 364, 265), (0, 0, 107, 80), (100, 50, 300, 400)])
def test_a_crop_letterbox_maps_model_points_to_frame_pixels(region) -> None:  # type: ignore[no-untyped-def]
    """A frame point seen in the crop's model input maps back to the same frame point."""
    from dataclasses import replace

    x1, y1, x2, y2 = region
    crop = np.zeros((y2 - y1, x2 - x1, 3), np.uint8)
    _, box = letterbox(crop, INPUT_WH)
    box = replace(box, origin_xy=(float(x1), float(y1)))
    frame_xy = np.array(
        [[x1 + 3.0, y1 + 7.0], [x2 - 1.0, y2 - 2.0], [(x1 + x2) / 2, (y1 + y2) / 2]]
    )
    model_norm = np.empty_like(frame_xy)
    model_norm[:, 0] = ((frame_xy[:, 0] - x1) * box.scale + box.pad_x) / INPUT_WH[0]
    model_norm[:, 1] = ((frame_xy[:, 1] - y1) * box.scale + box.pad_y) / INPUT_WH[1]
    np.testing.assert_allclose(box.to_pixels_xy(model_norm.astype(np.float32)), frame_xy, atol=1e-3)


def test_letterbox_enlarges_smoothly() -> None:
    """A crop smaller than the input is interpolated, not blown up into blocks."""
    ramp = np.tile(np.linspace(0, 255, 64, dtype=np.uint8)[None, :, None], (48, 1, 3))
    out, box = letterbox(ramp, INPUT_WH)
    assert box.scale == pytest.approx(4.0)
    # Nearest-neighbour enlargement would repeat each column 4 times: 64 distinct values.
    assert len(np.unique(out[96, :, 0])) > 100


# ---------------------------------------------------------------- refine rules
def _person(xyxy: tuple[float, float, float, float], kp_score: float, score: float = 0.5) -> Poses:
    x1, y1, x2, y2 = xyxy
    kp = np.stack([np.linspace(x1, x2, NUM_KEYPOINTS), np.linspace(y1, y2, NUM_KEYPOINTS)], axis=1)[
        None
    ]
    return Poses.create(
        xyxy=[xyxy],
        scores=[score],
        keypoints=kp,
        keypoint_scores=np.full((1, NUM_KEYPOINTS), kp_score),
    )


FRAME = Frame(np.zeros((480, 640, 3), np.uint8), 1.0, 12)
BOX = (300.0, 200.0, 320.0, 250.0)


def test_refine_replaces_a_weaker_main_person_and_keeps_its_track_and_fallen_score() -> None:
    main = Poses.concat([_person((100, 100, 120, 150), 0.9), _person((301, 201, 321, 252), 0.2)])
    main = Poses(**{**main.__dict__, "fallen_scores": np.array([np.nan, 0.7], np.float32)})
    zoomed = _person((300, 199, 319, 251), 0.8, score=0.6)
    zp = ZoomPass(FakeRegionModel(zoomed), ZoomConfig())
    out = zp.refine(FRAME, main, [ZoomCandidate(BOX, 7)])
    assert len(out) == 2
    np.testing.assert_array_equal(out.xyxy[1], zoomed.xyxy[0])
    np.testing.assert_array_equal(out.keypoints[1], zoomed.keypoints[0])
    assert out.scores[1] == pytest.approx(0.6) and out.fallen_scores[1] == pytest.approx(0.7)
    np.testing.assert_array_equal(out.xyxy[0], main.xyxy[0])  # the other person untouched
    assert main.keypoint_scores[1, 0] == pytest.approx(0.2)  # the input is not mutated
    (look,) = zp.looks
    assert (look.track_id, look.action, look.main_visible, look.zoom_visible) == (
        7,
        ZoomAction.REPLACED,
        17,
        17,
    )


def test_refine_keeps_a_main_person_that_is_already_better() -> None:
    main = _person((301, 201, 321, 252), 0.9)
    zp = ZoomPass(FakeRegionModel(_person((300, 199, 319, 251), 0.3)), ZoomConfig())
    out = zp.refine(FRAME, main, [ZoomCandidate(BOX, 7)])
    np.testing.assert_array_equal(out.keypoint_scores, main.keypoint_scores)
    assert zp.looks[0].action == ZoomAction.KEPT


def test_refine_adds_a_person_the_main_pass_lost_unless_told_not_to() -> None:
    zoomed = _person((300, 199, 319, 251), 0.8)
    out = ZoomPass(FakeRegionModel(zoomed), ZoomConfig()).refine(
        FRAME, Poses.empty(), [ZoomCandidate(BOX, 7, lost=True)]
    )
    assert len(out) == 1 and out.track_ids[0] == -1 and np.isnan(out.fallen_scores[0])
    hybrid = ZoomPass(FakeRegionModel(zoomed), ZoomConfig(), add_missing=False)
    assert len(hybrid.refine(FRAME, Poses.empty(), [ZoomCandidate(BOX, 7, lost=True)])) == 0
    assert hybrid.looks[0].action == ZoomAction.MISSED


def test_refine_ignores_people_in_the_crop_far_from_the_candidate() -> None:
    model = FakeRegionModel(_person((200, 300, 210, 330), 0.9))
    zp = ZoomPass(model, ZoomConfig())
    assert len(zp.refine(FRAME, Poses.empty(), [ZoomCandidate(BOX, 7, lost=True)])) == 0
    assert zp.looks[0].action == ZoomAction.MISSED


def test_refine_looks_at_most_max_crops_per_frame() -> None:
    model = FakeRegionModel(Poses.empty())
    zp = ZoomPass(model, ZoomConfig(max_crops_per_frame=2))
    candidates = [
        ZoomCandidate((x, 100.0, x + 20, 150.0), k) for k, x in enumerate((50.0, 200.0, 400.0))
    ]
    zp.refine(FRAME, Poses.empty(), candidates)
    assert len(model.regions) == 2 and len(zp.looks) == 2


def test_zoom_pass_for_follows_the_config() -> None:
    on = FakeRegionModel(Poses.empty())
    zp = zoom_pass_for(on)
    assert zp is not None and zp.add_missing and zp.main_input_wh == (256, 192)
    off = FakeRegionModel(Poses.empty(), PoseDetectorConfig(zoom=ZoomConfig(enabled=False)))
    assert zoom_pass_for(off) is None

    class Hybrid:
        name = "hybrid"
        pose = on

    hybrid = zoom_pass_for(Hybrid())
    assert hybrid is not None and not hybrid.add_missing  # YOLO's handoff finds the lost
    assert zoom_pass_for(object()) is None  # a box model: no skeleton to refine


@pytest.mark.parametrize(
    "field,value",
    [
        ("margin", 0.9),
        ("max_crops_per_frame", 0),
        ("max_person_model_px", 0),
        ("hold_lost_s", -1),
        ("min_down_score", 1.5),
        ("zoom_factor", 2),
        ("input_wh", (100, 128)),
    ],
)
def test_zoom_config_rejects_bad_values(field, value) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match=field):
        PoseDetectorConfig.model_validate({"zoom": {field: value}})


def test_zoom_config_defaults_are_on_and_loadable_from_yaml_data() -> None:
    cfg = PoseDetectorConfig.model_validate({"zoom": {"margin": 2.0}})
    assert cfg.zoom.enabled and cfg.zoom.margin == 2.0 and cfg.zoom.max_crops_per_frame == 2


# ---------------------------------------------------------------- real model, real person
SMALL_SCALE = 0.25
"""The 640x480 frame shrunk to 160x120 in a black 640x480 canvas: a person ~75 px tall
becomes ~19 px tall, ~8 px to the model in the main pass."""
CANVAS_AT = (300, 200)


@pytest.fixture(scope="module")
def detector() -> MoveNetDetector:
    return MoveNetDetector()


def _frames(falls_dir: Path, indices: set[int]) -> dict[int, Frame]:
    clip = falls_dir / "videos/upfall/UPFall_S1_A01_T1_Cam1.mp4"
    return {f.index: f for f in iter_video(clip) if f.index in indices}


def _shrunk(frame: Frame) -> Frame:
    small = cv2.resize(
        frame.image, None, fx=SMALL_SCALE, fy=SMALL_SCALE, interpolation=cv2.INTER_AREA
    )
    canvas = np.zeros_like(frame.image)
    x, y = CANVAS_AT
    canvas[y : y + small.shape[0], x : x + small.shape[1]] = small
    return Frame(canvas, frame.t_s, frame.index)


@pytest.mark.parametrize("index", [40, 80])
def test_zoom_finds_a_small_real_person_better_than_the_main_pass(
    falls_dir: Path, detector: MoveNetDetector, index: int
) -> None:
    """Frame 40: walking; frame 80: lying on the floor. Reference: the model's own
    keypoints on the full-size frame, shrunk the same way. The zoomed skeleton must lie
    on the person (median error under 4 px of the shrunk frame) and be more confident
    than what the main pass gives on the shrunk frame (which misses the lying person)."""
    full = _frames(falls_dir, {index})[index]
    ref = detector.detect(full)
    assert len(ref), "the full-size frame shows the person"
    i = int(np.argmax(ref.scores))
    offset = np.array(CANVAS_AT, np.float32)
    ref_kp = ref.keypoints[i] * SMALL_SCALE + offset
    ref_box = tuple(float(v) for v in ref.xyxy[i] * SMALL_SCALE + np.tile(offset, 2))

    frame = _shrunk(full)
    main = detector.detect(frame)
    zp = ZoomPass(detector, ZoomConfig())
    out = zp.refine(frame, main, [ZoomCandidate(ref_box, 1, lost=not len(main))])  # type: ignore[arg-type]
    (look,) = zp.looks
    assert look.action in (ZoomAction.REPLACED, ZoomAction.ADDED)
    j = int(np.argmin([np.linalg.norm(out.xyxy[k] - np.asarray(ref_box)) for k in range(len(out))]))
    err_px = np.linalg.norm(out.keypoints[j] - ref_kp, axis=1)
    assert float(np.median(err_px)) < 4.0
    main_best = float(main.keypoint_scores.mean(axis=1).max()) if len(main) else 0.0
    assert float(out.keypoint_scores[j].mean()) > main_best + 0.05
    assert look.zoom_visible >= look.main_visible


def test_detect_region_rejects_a_region_outside_the_frame(detector: MoveNetDetector) -> None:
    with pytest.raises(ValueError, match="inside the 640x480 frame"):
        detector.detect_region(FRAME, (600, 400, 700, 480))


def test_a_lost_person_beside_a_helper_does_not_take_the_helpers_place() -> None:
    """The crop around a lost person lying on the floor also holds the standing helper the
    main pass sees: the zoomed lying person is added, the helper kept as they were."""
    helper = _person((315, 180, 335, 250), 0.3)  # centres 0.74 diagonals apart
    lying_zoomed = _person((290, 235, 330, 252), 0.8)
    model = FakeRegionModel(lying_zoomed)
    zp = ZoomPass(model, ZoomConfig())
    out = zp.refine(FRAME, helper, [ZoomCandidate((288.0, 233.0, 331.0, 253.0), 7, lost=True)])
    assert len(out) == 2 and zp.looks[0].action == ZoomAction.ADDED
    np.testing.assert_array_equal(out.xyxy[0], helper.xyxy[0])


def test_two_candidates_on_one_person_give_one_person() -> None:
    zoomed = _person((300, 199, 319, 251), 0.8)
    zp = ZoomPass(FakeRegionModel(zoomed), ZoomConfig())
    twins = [
        ZoomCandidate(BOX, 7, lost=True),
        ZoomCandidate((302.0, 202.0, 322.0, 252.0), 8, lost=True),
    ]
    assert len(zp.refine(FRAME, Poses.empty(), twins)) == 1
    assert [look.action for look in zp.looks] == [ZoomAction.ADDED, ZoomAction.MISSED]
    main = _person((301, 201, 321, 252), 0.2)
    assert len(zp.refine(FRAME, main, twins)) == 1
    assert [look.action for look in zp.looks] == [ZoomAction.REPLACED, ZoomAction.MISSED]
