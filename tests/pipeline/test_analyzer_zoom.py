"""Who the Analyzer zooms on: small candidates only, the most urgent first, lost ones held
for `hold_lost_s`; and the zoomed person flowing on to the tracker and the rules."""

from __future__ import annotations

import numpy as np
import pytest

from fallwatch.config.detector import PoseDetectorConfig, ZoomConfig
from fallwatch.config.fall import FallConfig
from fallwatch.detect.zoom import ZoomAction, ZoomCandidate, ZoomLook, ZoomPass
from fallwatch.pipeline.analyzer import Analyzer, FrameResult, ZoomTargets
from fallwatch.types import FallState, FallUpdate, Frame, Poses, TrackStatus
from tests.fakes.poses import FakeRegionModel, make_poses, person_keypoints

INPUT_WH = (256, 192)
IMAGE = np.zeros((480, 640, 3), np.uint8)
"""640x480: the main pass scales by 0.4, so 64 model px is a 160-px person."""
SMALL = (100.0, 100.0, 140.0, 200.0)  # 100 px tall: 40 model px
BIG = (300.0, 50.0, 400.0, 450.0)  # 400 px tall: 160 model px


def result(
    t_s: float,
    people: list[tuple[int, tuple[float, float, float, float], FallState, float]],
    looks: tuple[ZoomLook, ...] = (),
) -> FrameResult:
    """A frame's result with tracked people as (track id, box, state, down score)."""
    poses = Poses.create(
        xyxy=[p[1] for p in people] or np.zeros((0, 4)), track_ids=[p[0] for p in people]
    )
    tracks = [TrackStatus(tid, state, score, 0.0, 0.0) for tid, _, state, score in people]
    return FrameResult(
        frame=Frame(IMAGE, t_s, 0), poses=poses, update=FallUpdate(tracks=tracks), zoom_looks=looks
    )


def ids(candidates: list[ZoomCandidate]) -> list[tuple[int, bool]]:
    return [(c.track_id, c.lost) for c in candidates]


@pytest.mark.parametrize(
    "box,state,score,picked",
    [
        (SMALL, FallState.DOWN, 0.9, True),
        (SMALL, FallState.FALLING, 0.0, True),
        (SMALL, FallState.ALERTED, 0.1, True),
        (SMALL, FallState.UPRIGHT, 0.35, True),  # leaning: the down score says maybe
        (SMALL, FallState.UPRIGHT, 0.1, False),
        (BIG, FallState.DOWN, 1.0, False),  # big: a crop adds nothing
    ],
)
def test_only_small_candidates_are_zoomed(box, state, score, picked) -> None:  # type: ignore[no-untyped-def]
    targets = ZoomTargets(ZoomConfig(), INPUT_WH)
    assert ids(targets.update(result(0.0, [(1, box, state, score)]))) == (
        [(1, False)] if picked else []
    )


def test_the_size_limit_is_in_model_pixels() -> None:
    """A 100-px person is small in 640x480 (40 model px) but not at 320x240 (80)."""
    targets = ZoomTargets(ZoomConfig(), INPUT_WH)
    r = result(0.0, [(1, SMALL, FallState.DOWN, 1.0)])
    small_frame = FrameResult(Frame(np.zeros((240, 320, 3), np.uint8), 0.0, 0), r.poses, r.update)
    assert targets.update(small_frame) == []


def test_at_most_max_crops_most_urgent_first() -> None:
    targets = ZoomTargets(ZoomConfig(max_crops_per_frame=2), INPUT_WH)
    boxes = [(x, 100.0, x + 30, 180.0) for x in (0.0, 100.0, 200.0, 300.0)]
    first = [
        (1, boxes[0], FallState.UPRIGHT, 0.5),
        (2, boxes[1], FallState.UPRIGHT, 0.8),
        (3, boxes[2], FallState.DOWN, 0.4),
        (4, boxes[3], FallState.FALLING, 0.2),
    ]
    assert ids(targets.update(result(0.0, first))) == [(3, False), (4, False)]
    # Track 4 is lost: it comes first, then the most urgent present one.
    assert ids(targets.update(result(0.1, first[:3]))) == [(4, True), (3, False)]


def test_a_lost_candidate_is_held_for_hold_lost_s_then_dropped() -> None:
    targets = ZoomTargets(ZoomConfig(hold_lost_s=2.0), INPUT_WH)
    targets.update(result(0.0, [(1, SMALL, FallState.DOWN, 0.9)]))
    for t in (0.5, 1.0, 2.0):
        (cand,) = targets.update(result(t, []))
        assert (cand.track_id, cand.lost, cand.xyxy) == (1, True, SMALL)
    assert targets.update(result(2.1, [])) == []
    assert targets.update(result(2.5, [])) == []  # forgotten, not merely skipped


def test_a_lost_small_person_who_was_not_a_candidate_is_held_only_with_look_for_lost() -> None:
    for look_for_lost, expected in ((True, [(1, True)]), (False, [])):
        targets = ZoomTargets(ZoomConfig(look_for_lost=look_for_lost), INPUT_WH)
        assert targets.update(result(0.0, [(1, SMALL, FallState.UPRIGHT, 0.0)])) == []
        assert ids(targets.update(result(0.1, []))) == expected


def test_a_person_found_only_by_the_zoom_is_still_looked_for_but_not_forever() -> None:
    """Found again by the zoom (ADDED) and upright: still lost to the main pass, so looked
    for; the hold is not renewed, so after hold_lost_s the zoom gives up."""
    targets = ZoomTargets(ZoomConfig(hold_lost_s=1.0), INPUT_WH)
    targets.update(result(0.0, [(1, SMALL, FallState.UPRIGHT, 0.0)]))
    added = (ZoomLook(1, (0, 0, 10, 10), ZoomAction.ADDED, 0, 17),)
    for t in (0.5, 1.0):
        assert ids(targets.update(result(t, [(1, SMALL, FallState.UPRIGHT, 0.0)], added))) == [
            (1, True)
        ]
    assert targets.update(result(1.5, [(1, SMALL, FallState.UPRIGHT, 0.0)], added)) == []
    # ... unless the zoomed look shows them down: a candidate renews the hold.
    assert ids(targets.update(result(1.6, [(1, SMALL, FallState.DOWN, 0.9)], added))) == [
        (1, False)
    ]
    assert ids(targets.update(result(2.5, []))) == [(1, True)]


def test_time_going_back_forgets_lost_people() -> None:
    targets = ZoomTargets(ZoomConfig(), INPUT_WH)
    targets.update(result(5.0, [(1, SMALL, FallState.DOWN, 0.9)]))
    assert targets.update(result(0.0, [])) == []


# ---------------------------------------------------------------- through the Analyzer
class Scripted:
    """A detector giving a fixed `Poses` per frame index."""

    name = "scripted"

    def __init__(self, script: list[Poses]) -> None:
        self.script = script

    def detect(self, frame: Frame) -> Poses:
        return self.script[frame.index]


def lying(
    height_px: float, feet_xy: tuple[float, float] = (100.0, 300.0), score: float = 0.8
) -> Poses:
    poses: Poses = make_poses([person_keypoints(feet_xy, height_px, angle_deg=90)], scores=[score])
    return poses


def run(
    script: list[Poses], zoom_person: Poses, **zoom: float
) -> tuple[list[FrameResult], FakeRegionModel]:
    model = FakeRegionModel(zoom_person, only_inside=True)
    analyzer = Analyzer(Scripted(script), FallConfig(), zoom=ZoomPass(model, ZoomConfig(**zoom)))
    results = [analyzer.process(Frame(IMAGE, k / 10, k)) for k in range(len(script))]
    return results, model


def test_a_small_lying_person_is_zoomed_from_the_next_frame_and_found_when_lost() -> None:
    person = lying(50)
    script = [person] * 5 + [Poses.empty()] * 25  # lost from 0.5 s, 2.5 s shown
    results, model = run(script, person, hold_lost_s=1.0)
    looked = [r.frame.index for r in results if r.zoom_looks]
    assert looked[0] == 1, "the first frame has no previous result to pick from"
    # Lost at frame 5: the zoom finds the person, the tracker keeps their id.
    for r in results[5:10]:
        assert r.zoom_looks[0].action == ZoomAction.ADDED
        assert r.poses.track_ids.tolist() == [results[0].poses.track_ids[0]]
    # The crop holds the person's box with margin.
    x1, y1, x2, y2 = model.regions[0]
    bx1, by1, bx2, by2 = person.xyxy[0]
    assert x1 < bx1 and y1 < by1 and x2 > bx2 and y2 > by2


def test_a_lost_person_the_zoom_cannot_find_is_given_up_after_hold_lost_s() -> None:
    script = [lying(50)] * 5 + [Poses.empty()] * 30
    results, model = run(script, Poses.empty(), hold_lost_s=1.0)
    looked_t = [r.frame.t_s for r in results if r.zoom_looks]
    # Last seen at 0.4 s: still a candidate in the result at 1.4 s, so looked at in the
    # next frame (1.5 s), and no crop after.
    assert max(looked_t) == pytest.approx(1.5)
    assert len(model.regions) == len(looked_t)


def test_a_big_lying_person_costs_no_crop() -> None:
    results, model = run([lying(300)] * 20, lying(300))
    assert results[-1].update.tracks[0].state != FallState.UPRIGHT, "judged down"
    assert model.regions == []
    assert all(r.timings_ms["zoom"] < 5 for r in results)


def test_without_zoom_the_timings_have_no_zoom_stage() -> None:
    analyzer = Analyzer(Scripted([lying(50)]), FallConfig())
    assert analyzer.zoom is None  # a scripted detector has no crop model
    assert "zoom" not in analyzer.process(Frame(IMAGE, 0.0, 0)).timings_ms


def test_the_analyzer_takes_the_zoom_the_pose_config_asks_for() -> None:
    """`fallwatch analyze` and the camera worker build `Analyzer(detector, ...)`: the
    zoom comes with a pose detector, configured by its `zoom` section."""
    from fallwatch.detect.pose import MoveNetDetector

    on = Analyzer(MoveNetDetector(PoseDetectorConfig(zoom=ZoomConfig(margin=2.0))))
    assert on.zoom is not None and on.zoom.config.margin == 2.0 and on.targets is not None
    off = Analyzer(MoveNetDetector(PoseDetectorConfig(zoom=ZoomConfig(enabled=False))))
    assert off.zoom is None and off.targets is None
