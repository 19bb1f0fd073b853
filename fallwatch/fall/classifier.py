"""Per-person fall state machine: upright -> falling -> down -> alerted -> upright.

Each frame gives every tracked person a *down score* in [0, 1] from posture (body axis
near horizontal, wide box) and from collapse relative to that person's own upright
baseline (the top of the body now near where the feet were, the body much shorter),
which also catches falls towards or away from the camera where the axis stays vertical.
A person is *down* above `down_enter` (and stays down until below `down_exit`).

The alert is a vote over time, not a run of frames: the person must be down in at least
`confirm_ratio` of the last `confirm_s` seconds, so a missed detection or a twitch does
not reset the timer. The window is `confirm_s` when a fast descent was seen shortly
before the person went down, and the longer `found_down_s` when someone is simply found
lying (people do lie down on purpose). One event per episode; an alerted person who is
lost and found again at the same place keeps the alerted state, so no repeats.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from fallwatch.config.fall import FallConfig
from fallwatch.posture import PostureFeatures, posture_features
from fallwatch.fall.sequence import SequenceModel, SequenceScorer
from fallwatch.fall.zones import IgnoreZones
from fallwatch.geometry import box_iou
from fallwatch.types import EventKind, FallEvent, FallState, FallUpdate, Poses, TrackStatus

FALLEN_AGREE_SCORE = 0.4
"""In hybrid mode, a fallen-class score at or above this fully agrees with the pose."""
MAX_SAMPLE_GAP_S = 0.5
"""A frame stands for at most this long in the vote, so a stalled source cannot vote alone."""
DESCENT_WINDOW_S = 1.5
"""A fall is seen when, within this time of an upright posture, the upper body drops by
`DESCENT_MIN_DROP` upright heights or the body axis reaches `DESCENT_SWING_TO_DEG` from
vertical. Lying down on purpose takes longer and passes through kneeling or sitting."""
DESCENT_MIN_DROP = 0.4
DESCENT_SWING_TO_DEG = 60.0
FAST_DESCENT_S = 1.0
"""A drop of `DESCENT_MIN_DROP` upright heights within this time is uncontrolled: people
who sit or kneel down on the floor on purpose lower themselves over 1.5 s or more, and
only after such a fast drop (or a swing towards horizontal) does a floor posture that is
not lying count as down."""
FLOOR_DROP = (0.35, 0.5)
"""Ramp of the top of the body's drop below its upright place, in upright heights, for a
post-fall floor posture: sitting on the floor lowers the head by about half the height,
sitting on a chair by about a quarter to a third."""
FLOOR_LEVEL = (0.68, 0.8)
"""Ramp of the hips' level (or the knees', less `KNEE_TO_HIP`) below the upright top, in
upright heights: standing hips are near 0.5, on a chair near 0.7, on the floor 0.8-1.0."""
KNEE_TO_HIP = 0.2
"""Kneeling puts the knees where the feet were (1.0) and the hips near 0.8."""
FLOOR_DROP_NO_LEGS = (0.5, 0.65)
"""Without hips or knees seen, the head alone must be lower to count as at floor level."""
UPRIGHT_MAX_DEG = 25.0
"""Body axis and torso within this angle of vertical count as upright."""
UPRIGHT_MAX_LEG_DEG = 55.0
"""Thighs and shins within this angle of vertical: standing or walking (a stride swings
them 30-40 degrees), not seated or kneeling."""
UPRIGHT_MAX_BOX_ASPECT_WH = 0.7
"""Without keypoints, a box at most this wide for its height counts as upright."""
ARM_SUPPORT_WINDOW_S = 1.0
ARM_SUPPORT_SHARE = 0.5
"""A body held up on straight arms in at least this share of the last
`ARM_SUPPORT_WINDOW_S` is not lying (push-ups, a plank, all fours)."""
SEATED_MAX_TORSO_DEG = 30.0
SEATED_DROP = (0.15, 0.5)
"""Torso upright and the top of the body this far below its upright place, in upright
heights: seated on a chair, a bed or a sofa (on the floor it is about half)."""
RESTING_AFTER_SEATED_S = 6.0
"""Lying down within this time of being seated, with no fall seen, is lying down on
purpose (sitting first, then a slow descent)."""
RAISED_MAX_LEVEL = 0.8
"""Hips at most this far below the upright top, in upright heights, are on a raised
surface (a bed, a sofa); on the floor they are where the feet were, near 1.0."""
BASELINE_WINDOW_S = 4.0
"""The upright baseline is taken over this much of the person's latest upright time."""
ALERTED_MEMORY_S = 120.0
"""How long a lost alerted person is remembered to suppress a repeat alert at that place."""


def _ramp(x: float, lo: float, hi: float) -> float:
    if not np.isfinite(x):
        return 0.0
    return float(min(1.0, max(0.0, (x - lo) / (hi - lo))))


def _upright_posture(body_angle_deg: float, torso_angle_deg: float, aspect_wh: float) -> bool:
    angles = [a for a in (body_angle_deg, torso_angle_deg) if np.isfinite(a)]
    if angles:
        return max(angles) <= UPRIGHT_MAX_DEG
    # A box detector gives no skeleton: a tall narrow box is the best it can say.
    return aspect_wh <= UPRIGHT_MAX_BOX_ASPECT_WH


@dataclass
class _Baseline:
    top_y: float
    height_px: float


def _level(f: PostureFeatures, i: int, base: _Baseline) -> float:
    """How low the hips (or the knees, less `KNEE_TO_HIP`) are below the upright top, in
    upright heights: about 0.5 standing, 0.7 seated on a chair, 0.8-1.0 on the floor;
    NaN with neither seen."""
    levels = [
        (float(y) - base.top_y) / base.height_px - offset
        for y, offset in ((f.hip_y[i], 0.0), (f.knee_y[i], KNEE_TO_HIP))
        if np.isfinite(y)
    ]
    return max(levels) if levels else float("nan")


@dataclass
class _Person:
    track_id: int
    state: FallState = FallState.UPRIGHT
    baseline: _Baseline | None = None
    last_seen_s: float = 0.0
    last_t_s: float | None = None
    last_down: bool = False
    last_score: float = 0.0
    last_xyxy: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    upright: deque[tuple[float, float, float]] = field(default_factory=deque)
    """(t_s, top_y, height_px) while upright, kept through a fall as its reference."""
    recent: deque[tuple[float, float, float, float, bool]] = field(default_factory=deque)
    """(t_s, top_y, bottom_y, body_angle_deg, upright) over the last `DESCENT_WINDOW_S`."""
    votes: deque[tuple[float, float, bool]] = field(default_factory=deque)
    """(t_s, duration_s, down) samples, newest last."""
    fall_seen_s: float | None = None
    uncontrolled: bool = False
    """The fall seen was a fast drop or a swing towards horizontal: any floor posture
    counts as down until the person is back on their feet."""
    down_from_s: float | None = None
    up_since_s: float | None = None
    alerted_kind: EventKind | None = None
    ignored: bool = False
    seated_s: float | None = None
    """When the person was last seen seated (torso upright, body lowered)."""
    level: float = float("nan")
    """This frame's hip (or knee) level below the upright top, in upright heights."""
    resting: bool = False
    """Lay down on a raised surface from sitting, with no fall seen: no found-down alert
    while they stay up there."""
    support: deque[tuple[float, bool]] = field(default_factory=deque)
    """(t_s, arm_support) over the last `ARM_SUPPORT_WINDOW_S`."""

    def held_up(self, t_s: float, arm_support: bool) -> bool:
        """Whether the body rested on straight arms in most of the last moments.

        A push-up or a plank holds that posture for seconds; a fall passes through it
        as the hands go out, and must not be vetoed for it."""
        self.support.append((t_s, arm_support))
        while t_s - self.support[0][0] > ARM_SUPPORT_WINDOW_S:
            self.support.popleft()
        return sum(s for _, s in self.support) >= ARM_SUPPORT_SHARE * len(self.support)


class FallClassifier:
    """Turns tracked poses into fall events for one camera."""

    def __init__(
        self,
        config: FallConfig | None = None,
        camera_id: str = "default",
        sequence: SequenceScorer | None = None,
    ):
        """`sequence` overrides the scorer `config.sequence_model` would load (training)."""
        self.config = config or FallConfig()
        self.camera_id = camera_id
        self._zones = IgnoreZones(self.config.zones)
        seq_cfg = self.config.sequence_model
        if sequence is None and seq_cfg is not None:
            model = SequenceModel.load(seq_cfg.path)
            sequence = SequenceScorer(model, seq_cfg.threshold, seq_cfg.combine)
        self._sequence = sequence
        self.reset()

    def reset(self) -> None:
        if self._sequence is not None:
            self._sequence.reset()
        self._people: dict[int, _Person] = {}
        self._alerted_places: list[tuple[float, tuple[float, float, float, float], EventKind]] = []

    # ------------------------------------------------------------------ scoring
    def down_scores(self, poses: Poses) -> np.ndarray:
        """Per-person down score for one frame without any history (stills, tests).

        One frame cannot show a body held up on the arms for a while (a push-up), only
        hands out for a moment (a fall), so arm support does not veto here."""
        feats = posture_features(poses, self.config.min_keypoint_score)
        return np.array(
            [
                self._score(feats, i, None, float(poses.fallen_scores[i]), held_up=False)
                for i in range(len(poses))
            ],
            np.float32,
        )

    @staticmethod
    def _floor_score(f: PostureFeatures, i: int, base: _Baseline) -> float:
        """At floor level in any posture (lying, sitting with the legs out, kneeling or
        curled with the head low), judged against the person's own upright place."""
        if base.height_px <= 0:
            return 0.0
        drop = (float(f.top_y[i]) - base.top_y) / base.height_px
        level = _level(f, i, base)
        if not np.isfinite(level):
            return _ramp(drop, *FLOOR_DROP_NO_LEGS)
        return _ramp(drop, *FLOOR_DROP) * _ramp(level, *FLOOR_LEVEL)

    @staticmethod
    def _score(
        f: PostureFeatures,
        i: int,
        base: _Baseline | None,
        fallen: float,
        after_fall: bool = False,
        held_up: bool | None = None,
    ) -> float:
        """This frame's down score; `held_up` says the body has rested on straight arms
        for most of the last moments (default: this frame's arm support alone)."""
        aspect = float(f.aspect_wh[i])
        kp_aspect = float(f.keypoint_aspect_wh[i])
        if f.legs_seen[i]:
            axis = _ramp(float(f.body_angle_deg[i]), 40.0, 65.0)
            # Lying means torso and thighs are both off vertical too: this keeps out
            # sitting on the floor (torso upright) and all fours (thighs upright).
            for part in (float(f.torso_angle_deg[i]), float(f.thigh_angle_deg[i])):
                if np.isfinite(part):
                    axis = min(axis, _ramp(part, 15.0, 40.0))
        else:
            # Without legs the torso alone leans when bending over: ask for more.
            axis = _ramp(float(f.torso_angle_deg[i]), 55.0, 75.0) * _ramp(aspect, 1.0, 1.5)
        wide = _ramp(max(aspect, kp_aspect if np.isfinite(kp_aspect) else 0.0), 0.9, 1.5)
        geometry = 0.6 * axis + 0.4 * wide if f.visible_fraction[i] > 0.25 else wide * 0.8
        collapse = 0.0
        if base is not None and base.height_px > 0:
            drop = (float(f.top_y[i]) - base.top_y) / base.height_px
            shrink = 1.0 - float(f.height_px[i]) / base.height_px
            # Much shorter and lower than upright, or the head where the feet were (a
            # fall towards the camera keeps the axis vertical and the size).
            collapse = max(_ramp(drop, 0.45, 0.7) * _ramp(shrink, 0.25, 0.5), _ramp(drop, 0.8, 1.0))
        if f.arm_support[i] if held_up is None else held_up:
            # A body held up on straight arms (push-ups, a plank, all fours) is not
            # lying, however low and long it is; after a fall, pushing up on the arms
            # is still being down (the floor score below keeps it).
            geometry = 0.4 * wide
            if not after_fall:
                collapse = 0.0
        score = max(geometry, collapse)
        if after_fall and base is not None and f.visible_fraction[i] > 0.25:
            # After an uncontrolled fall, sitting up or kneeling on the floor is still
            # down: only standing up again is recovering.
            score = max(score, FallClassifier._floor_score(f, i, base))
        if np.isfinite(fallen):
            # A detector with a "fallen" class: alone it decides; with keypoints (hybrid)
            # both must agree. A box model's class score is not calibrated like ours, so
            # it agrees from FALLEN_AGREE_SCORE up and vetoes in proportion below it.
            if f.visible_fraction[i] > 0.25:
                score = min(score, _ramp(fallen, 0.0, FALLEN_AGREE_SCORE))
            else:
                score = fallen
        return score

    # ------------------------------------------------------------------ update
    def update(self, poses: Poses, t_s: float) -> FallUpdate:
        """Advance every tracked person to time `t_s`; returns events and per-track status."""
        cfg = self.config
        feats = posture_features(poses, cfg.min_keypoint_score)
        centers = (poses.xyxy[:, :2] + poses.xyxy[:, 2:]) / 2
        in_zone = self._zones.contains(centers) if self._zones else np.zeros(len(poses), bool)
        too_small = np.maximum(feats.height_px, poses.xyxy[:, 2] - poses.xyxy[:, 0]) < cfg.min_person_height_px
        events: list[FallEvent] = []
        statuses: list[TrackStatus] = []
        seen: set[int] = set()
        for i in range(len(poses)):
            tid = int(poses.track_ids[i])
            if tid < 0:
                continue
            seen.add(tid)
            person = self._people.get(tid)
            if person is None:
                person = self._people[tid] = _Person(tid)
                self._inherit_alert(person, poses.xyxy[i], t_s)
            person.last_seen_s = t_s
            person.last_xyxy = tuple(float(v) for v in poses.xyxy[i])  # type: ignore[assignment]
            person.ignored = bool(in_zone[i] or too_small[i])
            after_fall = person.fall_seen_s is not None and person.uncontrolled
            held_up = person.held_up(t_s, bool(feats.arm_support[i]))
            score = (
                0.0
                if person.ignored
                else self._score(
                    feats, i, person.baseline, float(poses.fallen_scores[i]), after_fall, held_up
                )
            )
            threshold = cfg.down_exit if person.last_down else cfg.down_enter
            down = score >= threshold
            if self._sequence is not None and not person.ignored:
                base = person.baseline
                p_fallen = self._sequence.update(
                    tid,
                    t_s,
                    feats,
                    i,
                    None if base is None else base.top_y,
                    None if base is None else base.height_px,
                )
                down = self._sequence.combine(down, p_fallen, person.fall_seen_s is not None)
            self._observe(person, feats, i, t_s, score, down)
            events.extend(self._step(person, t_s))
            statuses.append(self._status(person, t_s))
        # People not seen this frame: a still person on the floor is the one a detector
        # misses most, so hold their last state until they are lost for `lost_track_s`.
        for tid, person in list(self._people.items()):
            if tid in seen:
                continue
            if t_s - person.last_seen_s > cfg.lost_track_s:
                if person.alerted_kind is not None and person.state == FallState.ALERTED:
                    self._alerted_places.append((t_s, person.last_xyxy, person.alerted_kind))
                del self._people[tid]
                continue
            self._vote(person, t_s, person.last_down)
            events.extend(self._step(person, t_s))
        self._alerted_places = [p for p in self._alerted_places if t_s - p[0] <= ALERTED_MEMORY_S]
        return FallUpdate(events=events, tracks=statuses)

    def _inherit_alert(self, person: _Person, xyxy: np.ndarray, t_s: float) -> None:
        """A new track where an alerted person was lost is that same person, still down."""
        for k, (_, place, kind) in enumerate(self._alerted_places):
            if box_iou(np.asarray([place], np.float32), xyxy[None].astype(np.float32))[0, 0] >= 0.3:
                person.state = FallState.ALERTED
                person.alerted_kind = kind
                person.down_from_s = t_s
                person.last_down = True
                del self._alerted_places[k]
                return

    def _observe(self, p: _Person, f: PostureFeatures, i: int, t_s: float, score: float, down: bool) -> None:
        top, height = float(f.top_y[i]), float(f.height_px[i])
        p.last_score = score
        # Upright: standing or walking, body and torso near vertical. Only such frames
        # define the person's reference size and where a fall can start from; a person
        # first seen crouching or kneeling has neither.
        upright = (
            score < 0.25
            and p.state == FallState.UPRIGHT
            and _upright_posture(
                float(f.body_angle_deg[i]), float(f.torso_angle_deg[i]), float(f.aspect_wh[i])
            )
            # On the feet: kneeling (shins along the floor) and seated (thighs along the
            # seat) keep the torso upright too, but a descent from there is no fall.
            and not any(
                np.isfinite(a) and a > UPRIGHT_MAX_LEG_DEG
                for a in (float(f.thigh_angle_deg[i]), float(f.shin_angle_deg[i]))
            )
        )
        if upright:
            # Percentiles over the last seconds upright, not an average: the first
            # frames of a fall are still "upright" and must not drag the reference down.
            p.upright.append((t_s, top, height))
            while t_s - p.upright[0][0] > BASELINE_WINDOW_S:
                p.upright.popleft()
            arr = np.asarray(p.upright, np.float32)
            p.baseline = _Baseline(
                top_y=float(np.percentile(arr[:, 1], 20)),
                height_px=float(np.percentile(arr[:, 2], 80)),
            )
        base = p.baseline
        if base is not None and base.height_px > 0:
            p.level = _level(f, i, base)
            drop = (top - base.top_y) / base.height_px
            torso = float(f.torso_angle_deg[i])
            if (
                not down
                and np.isfinite(torso)
                and torso <= SEATED_MAX_TORSO_DEG
                and SEATED_DROP[0] <= drop <= SEATED_DROP[1]
            ):
                p.seated_s = t_s
        # Descent: from an upright posture, the top of the body dropping fast (in units
        # of the upright height) or the body swinging towards horizontal.
        angle = float(f.body_angle_deg[i]) if f.legs_seen[i] else float("nan")
        bottom = float(f.bottom_y[i])
        p.recent.append((t_s, top, bottom, angle, upright))
        while p.recent and t_s - p.recent[0][0] > DESCENT_WINDOW_S:
            p.recent.popleft()
        from_upright = any(u for *_, u in p.recent)
        dropped = fast = False
        if from_upright and p.baseline is not None and p.baseline.height_px > 0:
            highest = min(y for _, y, _, _, u in p.recent if u)
            dropped = (top - highest) / p.baseline.height_px >= DESCENT_MIN_DROP
            # Fast, and the top came down towards the feet: a person walking towards a
            # high camera also moves down the picture, but feet and head together.
            fast = any(
                (top - y) - (bottom - b) >= DESCENT_MIN_DROP * p.baseline.height_px
                for ts, y, b, _, u in p.recent
                if u and t_s - ts <= FAST_DESCENT_S
            )
        # The median of the last three angles: one noisy skeleton is not a swing.
        last = [a for _, _, _, a, _ in list(p.recent)[-3:] if np.isfinite(a)]
        swung = from_upright and len(last) >= 2 and float(np.median(last)) >= DESCENT_SWING_TO_DEG
        if (dropped or swung) and (p.fall_seen_s is None or p.state == FallState.UPRIGHT):
            p.fall_seen_s = t_s
            p.uncontrolled = False
        if p.fall_seen_s is not None and (fast or swung):
            p.uncontrolled = True
        self._vote(p, t_s, down)

    def _vote(self, p: _Person, t_s: float, down: bool) -> None:
        dt = 0.0 if p.last_t_s is None else min(MAX_SAMPLE_GAP_S, max(0.0, t_s - p.last_t_s))
        p.last_t_s = t_s
        p.last_down = down
        p.votes.append((t_s, dt, down))
        horizon = max(self.config.confirm_s, self.config.found_down_s) + 1.0
        while p.votes and t_s - p.votes[0][0] > horizon:
            p.votes.popleft()

    def _down_share(self, p: _Person, t_s: float, window_s: float) -> float:
        total = sum(dt for t, dt, d in p.votes if t_s - t < window_s and d)
        return min(1.0, total / window_s)

    def _window_s(self, p: _Person) -> float:
        if p.fall_seen_s is not None and p.down_from_s is not None and (
            p.down_from_s - p.fall_seen_s <= self.config.fall_memory_s
        ):
            return self.config.confirm_s
        return self.config.found_down_s

    def _step(self, p: _Person, t_s: float) -> list[FallEvent]:
        cfg = self.config
        down = p.last_down
        events: list[FallEvent] = []
        if p.fall_seen_s is not None and p.state == FallState.UPRIGHT and not down:
            if t_s - p.fall_seen_s <= cfg.fall_memory_s:
                p.state = FallState.FALLING
        if p.state == FallState.FALLING and not down and p.fall_seen_s is not None:
            if t_s - p.fall_seen_s > cfg.fall_memory_s:
                p.state = FallState.UPRIGHT
                p.fall_seen_s = None
        if down:
            p.up_since_s = None
            if p.state in (FallState.UPRIGHT, FallState.FALLING):
                p.state = FallState.DOWN
                p.down_from_s = t_s
                if p.fall_seen_s is not None and t_s - p.fall_seen_s > cfg.fall_memory_s:
                    p.fall_seen_s = None
                p.resting = (
                    p.fall_seen_s is None
                    and p.seated_s is not None
                    and t_s - p.seated_s <= RESTING_AFTER_SEATED_S
                )
            if p.resting and not (np.isfinite(p.level) and p.level < RAISED_MAX_LEVEL):
                # Off the bed and on the floor (or no longer seen to be up there).
                p.resting = False
        else:
            if p.up_since_s is None:
                p.up_since_s = t_s
        if p.state == FallState.DOWN and p.down_from_s is not None:
            window = self._window_s(p)
            resting = p.resting and window != cfg.confirm_s
            if not resting and t_s - p.down_from_s >= window and (
                self._down_share(p, t_s, window) >= cfg.confirm_ratio
            ):
                p.state = FallState.ALERTED
                p.alerted_kind = EventKind.FALL if window == cfg.confirm_s else EventKind.FOUND_DOWN
                events.append(self._event(p, p.alerted_kind, t_s))
        if p.state in (FallState.DOWN, FallState.ALERTED) and p.up_since_s is not None:
            if t_s - p.up_since_s >= cfg.recover_s:
                if p.state == FallState.ALERTED:
                    events.append(self._event(p, EventKind.RECOVERED, t_s))
                p.state = FallState.UPRIGHT
                p.down_from_s = None
                p.fall_seen_s = None
                p.uncontrolled = False
                p.resting = False
                p.alerted_kind = None
        return events

    def _event(self, p: _Person, kind: EventKind, t_s: float) -> FallEvent:
        window = self._window_s(p)
        return FallEvent(
            kind=kind,
            camera_id=self.camera_id,
            track_id=p.track_id,
            t_s=t_s,
            down_from_s=p.down_from_s if p.down_from_s is not None else t_s,
            fall_seen_s=p.fall_seen_s if kind != EventKind.FOUND_DOWN else None,
            xyxy=p.last_xyxy,
            down_score=self._down_share(p, t_s, window),
        )

    def _status(self, p: _Person, t_s: float) -> TrackStatus:
        down_for = t_s - p.down_from_s if p.down_from_s is not None else 0.0
        return TrackStatus(
            track_id=p.track_id,
            state=p.state,
            down_score=p.last_score,
            down_share=self._down_share(p, t_s, self._window_s(p)) if p.down_from_s is not None else 0.0,
            down_for_s=down_for,
            ignored=p.ignored,
        )
