"""The motion gate: synthetic frames for its rules, real clips for what it is for."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from fallwatch.config.detector import PoseDetectorConfig
from fallwatch.config.motion import MotionConfig
from fallwatch.detect.registry import build_detector
from fallwatch.pipeline.analyzer import Analyzer
from fallwatch.pipeline.motion import GateDecision, MotionGate, RateMode, RateReason
from fallwatch.types import EventKind, FallState, Frame

Image = npt.NDArray[np.uint8]
RNG = np.random.default_rng(7)
ROOM = RNG.integers(60, 200, (240, 320, 3), dtype=np.uint8)
ROOM = cv2.GaussianBlur(ROOM, (21, 21), 0)  # a smooth "room", not white noise


def noisy(image: Image, sigma: float = 6.0) -> Image:
    """Sensor noise, then a JPEG round trip (compression noise), as a camera sends it."""
    frame = np.clip(image + RNG.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)
    return cv2.imdecode(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 50])[1], 1)  # type: ignore[return-value]


def with_block(image: Image, x: int, w: int = 20, h: int = 60) -> Image:
    """A person-sized dark block at column x (a body is about 20 x 60 px at this size)."""
    out = image.copy()
    out[150 : 150 + h, x : x + w] = 30
    return out


def decide_all(gate: MotionGate, frames: list[Image], fps: float = 5.0) -> list[GateDecision]:
    return [gate.decide(f, i / fps, []) for i, f in enumerate(frames)]


def test_sensor_and_compression_noise_on_an_empty_room_stays_idle() -> None:
    gate = MotionGate(MotionConfig(hold_s=2.0))
    decisions = decide_all(gate, [noisy(ROOM, sigma=10) for _ in range(50)])
    assert decisions[0].full, "the first frame counts as motion: a camera starts awake"
    # 2 s of hold at 5 fps, then idle for good.
    assert all(d.full for d in decisions[:10])
    assert all(d.mode is RateMode.IDLE and d.reason is RateReason.QUIET for d in decisions[11:])
    assert max(d.motion_share for d in decisions[1:]) < 0.0005


def test_a_moving_block_wakes_the_camera_at_once_and_the_hold_keeps_it_awake() -> None:
    gate = MotionGate(MotionConfig(hold_s=1.0))
    frames = [noisy(ROOM) for _ in range(15)]  # 3 s quiet: idle from 1 s on
    frames += [noisy(with_block(ROOM, 20 + 12 * i)) for i in range(10)]  # walks 2 s
    frames += [noisy(with_block(ROOM, 140)) for _ in range(25)]  # stands still 5 s
    decisions = decide_all(gate, frames)
    assert decisions[14].mode is RateMode.IDLE
    assert decisions[15].full and decisions[15].reason is RateReason.MOTION
    assert all(d.full for d in decisions[15:25])
    # Still for 1 s hold + the background's catching up (time constant 2 s), then idle:
    # a still person is kept by the classifier's states, not by motion.
    assert all(d.full for d in decisions[25:30])
    assert decisions[-1].mode is RateMode.IDLE


def test_people_held_by_the_classifier_keep_full_rate_without_motion() -> None:
    gate = MotionGate(MotionConfig(hold_s=0.0))
    still = [noisy(ROOM) for _ in range(12)]
    in_view = [gate.decide(f, i / 5, [FallState.UPRIGHT]) for i, f in enumerate(still)]
    assert all(d.full for d in in_view)
    assert in_view[-1].reason is RateReason.PERSON
    for state in (FallState.FALLING, FallState.DOWN, FallState.ALERTED):
        d = gate.decide(noisy(ROOM), 10.0, [FallState.UPRIGHT, state])
        assert d.full and d.reason is RateReason.PERSON_DOWN
    gone = gate.decide(noisy(ROOM), 11.0, [])
    assert gone.mode is RateMode.IDLE, "with hold_s 0, idle once nobody is held or moving"


def test_gating_off_is_always_full_rate_and_measures_nothing() -> None:
    for gate in (
        MotionGate(MotionConfig(), gated=False),
        MotionGate(MotionConfig(enabled=False)),
    ):
        decisions = decide_all(gate, [ROOM] * 20)
        assert all(d.full and d.reason is RateReason.OFF for d in decisions)
        assert all(d.motion_share == 0.0 for d in decisions)


def test_time_going_back_or_a_new_picture_size_restarts_the_background() -> None:
    gate = MotionGate(MotionConfig(hold_s=0.0))
    for i in range(10):
        gate.decide(ROOM, i / 5, [])
    assert gate.decide(ROOM, 0.0, []).motion_share == 1.0  # a looped file, a new clip
    gate.decide(ROOM, 0.2, [])
    assert gate.decide(ROOM[:, :240].copy(), 0.4, []).motion_share == 1.0  # another size


# --- real clips --------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    t_s: float
    decision: GateDecision
    analysed: bool


@pytest.fixture(scope="module")
def falls2_dir() -> Path:
    from fallwatch.bench.data import data_dir

    d = data_dir()
    if d is None or not (d / "falls2" / "manifest.json").is_file():
        pytest.skip(
            "shared clips falls2/ not found: set FALLWATCH_DATA or put them in ../shared/data"
        )
    return d / "falls2"


@pytest.fixture(scope="module")
def analyzer_factory() -> Iterator[object]:
    detector = build_detector(PoseDetectorConfig(num_threads=1))
    yield lambda: Analyzer(detector, camera_id="motion-test")


def read_frames(path: Path) -> tuple[list[Image], float]:
    cap = cv2.VideoCapture(str(path))
    fps = float(cap.get(cv2.CAP_PROP_FPS))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    assert frames, path
    return frames, fps


def play(
    frames: list[Image], fps: float, analyzer: Analyzer, analysis_fps: float = 5.0
) -> tuple[list[Step], list[EventKind]]:
    """What the worker does: look at the newest frame every full-rate period, analyse it
    when the gate says full or the idle period (1 s) is over."""
    gate = MotionGate(MotionConfig())
    steps: list[Step] = []
    events: list[EventKind] = []
    last = -1.0
    for k in range(int(len(frames) / fps * analysis_fps)):
        t_s = k / analysis_fps
        image = frames[min(len(frames) - 1, round(t_s * fps))]
        decision = gate.decide(image, t_s, analyzer.classifier.held_states())
        analysed = decision.full or t_s - last >= 1.0 - 0.5 / analysis_fps
        if analysed:
            last = t_s
            result = analyzer.process(Frame(image=image, t_s=t_s, index=k, camera_id="c"))
            events += [e.kind for e in result.update.events]
        steps.append(Step(t_s, decision, analysed))
    return steps, events


def test_a_person_lying_still_stays_tracked_at_full_rate(
    falls2_dir: Path, analyzer_factory: object
) -> None:
    """ku_fall_detection/cam2: a man walks in, falls onto the mattress (down from 3.5 s)
    and lies still to the end (8.2 s); the last frame held for 10 s more is a person
    lying perfectly still. The picture stops moving; he must stay tracked at full rate
    until the alert, and after it."""
    frames, fps = read_frames(falls2_dir / "videos/ku_fall_detection/cam2.mp4")
    clip_s = len(frames) / fps
    frames += [frames[-1]] * round(10 * fps)
    analyzer = analyzer_factory()  # type: ignore[operator]
    steps, events = play(frames, fps, analyzer)
    assert EventKind.FALL in events
    after_down = [s for s in steps if s.t_s >= 3.5 + 1.0]
    assert all(s.decision.full and s.analysed for s in after_down)
    frozen = [s for s in steps if s.t_s >= clip_s + 0.5]
    assert all(s.decision.motion_share < 0.002 for s in frozen), "no motion at all"
    assert all(s.decision.reason is RateReason.PERSON_DOWN for s in frozen)
    assert FallState.ALERTED in analyzer.classifier.held_states()


def test_an_empty_stretch_drops_to_idle_and_a_person_walking_in_wakes_it(
    falls2_dir: Path, analyzer_factory: object
) -> None:
    """ku_fall_detection/cam2's first 0.4 s are the empty room: played back and forth
    for 8 s, then the clip runs on as the man walks in (from about 0.8 s)."""
    frames, fps = read_frames(falls2_dir / "videos/ku_fall_detection/cam2.mp4")
    empty = frames[: round(0.4 * fps) + 1]
    back_and_forth = empty + empty[-2:0:-1]
    # About 8 s, ending on the stretch's last frame going forward (no jump when it runs on).
    quiet = back_and_forth * round(8 * fps / len(back_and_forth)) + empty
    stretch_s = len(quiet) / fps
    steps, _ = play(quiet + frames[round(0.4 * fps) + 1 :], fps, analyzer_factory())  # type: ignore[operator]
    idle = [s for s in steps if 5.5 <= s.t_s < stretch_s]
    assert idle and all(s.decision.mode is RateMode.IDLE for s in idle)
    assert all(s.decision.reason is RateReason.QUIET for s in idle)
    analysed_idle = sum(s.analysed for s in idle)
    assert analysed_idle <= len(idle) / 5 + 1, "analysed at 1 fps, not 5"
    woken = next(s for s in steps if s.t_s >= stretch_s and s.decision.full)
    assert woken.t_s - stretch_s <= 1.0, "a person walking in wakes it within one idle period"
    assert all(s.decision.full for s in steps if s.t_s >= woken.t_s)
