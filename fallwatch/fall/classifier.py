"""Per-person fall state machine: upright -> falling -> down -> alerted -> upright.

Each frame gives every tracked person a *down score* in [0, 1] (`fallwatch.fall.scoring`)
from posture and from collapse relative to that person's own upright baseline. A person
is *down* above `down_enter` (and stays down until below `down_exit`). Every threshold
is in `FallConfig` (the finer ones in `FallConfig.rules`).

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
from fallwatch.fall.scoring import Baseline, PostureScorer
from fallwatch.fall.sequence import SequenceModel, SequenceScorer
from fallwatch.fall.zones import IgnoreZones
from fallwatch.geometry import box_iou
from fallwatch.posture import PostureFeatures, posture_features
from fallwatch.types import EventKind, FallEvent, FallState, FallUpdate, Poses, TrackStatus


@dataclass
class _Person:
    track_id: int
    state: FallState = FallState.UPRIGHT
    baseline: Baseline | None = None
    last_seen_s: float = 0.0
    last_t_s: float | None = None
    last_down: bool = False
    last_score: float = 0.0
    last_xyxy: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    upright: deque[tuple[float, float, float]] = field(default_factory=deque)
    """(t_s, top_y, height_px) while upright, kept through a fall as its reference."""
    recent: deque[tuple[float, float, float, float, bool]] = field(default_factory=deque)
    """(t_s, top_y, bottom_y, body_angle_deg, upright) over the last `descent_window_s`."""
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
    """(t_s, arm_support) over the last `arm_support_window_s`."""

    def held_up(self, t_s: float, arm_support: bool, window_s: float, share: float) -> bool:
        """Whether the body rested on straight arms in at least `share` of the last
        `window_s`.

        A push-up or a plank holds that posture for seconds; a fall passes through it
        as the hands go out, and must not be vetoed for it."""
        self.support.append((t_s, arm_support))
        while t_s - self.support[0][0] > window_s:
            self.support.popleft()
        return sum(s for _, s in self.support) >= share * len(self.support)


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
        self._rules = self.config.rules
        self._scorer = PostureScorer(self._rules)
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

    def held_states(self) -> list[FallState]:
        """The state of everyone held now, seen in the last frame or held unseen for
        `lost_track_s` (people in ignore zones or too small left out): what keeps a
        camera at its full analysis rate (`fallwatch.pipeline.motion`)."""
        return [p.state for p in self._people.values() if not p.ignored]

    # ------------------------------------------------------------------ scoring
    def down_scores(self, poses: Poses) -> np.ndarray:
        """Per-person down score for one frame without any history (stills, tests).

        One frame cannot show a body held up on the arms for a while (a push-up), only
        hands out for a moment (a fall), so arm support does not veto here."""
        feats = self._features(poses)
        return np.array(
            [
                self._scorer.score(feats, i, None, float(poses.fallen_scores[i]), held_up=False)
                for i in range(len(poses))
            ],
            np.float32,
        )

    def _features(self, poses: Poses) -> PostureFeatures:
        return posture_features(
            poses,
            self.config.min_keypoint_score,
            arm_support_max_deg=self._rules.arm_support_max_deg,
            arm_support_min_length=self._rules.arm_support_min_length,
        )

    # ------------------------------------------------------------------ update
    def update(self, poses: Poses, t_s: float) -> FallUpdate:
        """Advance every tracked person to time `t_s`; returns events and per-track status."""
        cfg = self.config
        feats = self._features(poses)
        centers = np.asarray((poses.xyxy[:, :2] + poses.xyxy[:, 2:]) / 2, np.float32)
        in_zone = self._zones.contains(centers) if self._zones else np.zeros(len(poses), bool)
        too_small = (
            np.maximum(feats.height_px, poses.xyxy[:, 2] - poses.xyxy[:, 0])
            < cfg.min_person_height_px
        )
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
            held_up = person.held_up(
                t_s,
                bool(feats.arm_support[i]),
                self._rules.arm_support_window_s,
                self._rules.arm_support_share,
            )
            score = (
                0.0
                if person.ignored
                else self._scorer.score(
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
        self._alerted_places = [
            p for p in self._alerted_places if t_s - p[0] <= self._rules.alerted_memory_s
        ]
        return FallUpdate(events=events, tracks=statuses)

    def _inherit_alert(self, person: _Person, xyxy: np.ndarray, t_s: float) -> None:
        """A new track where an alerted person was lost is that same person, still down."""
        for k, (_, place, kind) in enumerate(self._alerted_places):
            if box_iou(np.asarray([place], np.float32), xyxy[None].astype(np.float32))[0, 0] >= (
                self._rules.same_place_min_iou
            ):
                person.state = FallState.ALERTED
                person.alerted_kind = kind
                person.down_from_s = t_s
                person.last_down = True
                del self._alerted_places[k]
                return

    def _observe(
        self, p: _Person, f: PostureFeatures, i: int, t_s: float, score: float, down: bool
    ) -> None:
        r = self._rules
        top, height = float(f.top_y[i]), float(f.height_px[i])
        p.last_score = score
        upright = (
            score < r.upright_max_score and p.state == FallState.UPRIGHT and self._on_feet(f, i)
        )
        if upright:
            # Percentiles over the last seconds upright, not an average: the first
            # frames of a fall are still "upright" and must not drag the reference down.
            p.upright.append((t_s, top, height))
            while t_s - p.upright[0][0] > r.baseline_window_s:
                p.upright.popleft()
            arr = np.asarray(p.upright, np.float32)
            p.baseline = Baseline(
                top_y=float(np.percentile(arr[:, 1], r.baseline_top_percentile)),
                height_px=float(np.percentile(arr[:, 2], r.baseline_height_percentile)),
            )
        base = p.baseline
        if base is not None and base.height_px > 0:
            p.level = self._scorer.level(f, i, base)
            drop = (top - base.top_y) / base.height_px
            torso = float(f.torso_angle_deg[i])
            if (
                not down
                and np.isfinite(torso)
                and torso <= r.seated_max_torso_deg
                and r.seated_drop.lo <= drop <= r.seated_drop.hi
            ):
                p.seated_s = t_s
        self._descent(p, f, i, t_s, upright)
        self._vote(p, t_s, down)

    def _on_feet(self, f: PostureFeatures, i: int) -> bool:
        """Upright: standing or walking, body and torso near vertical. Only such frames
        define the person's reference size and where a fall can start from; a person
        first seen crouching or kneeling has neither."""
        return self._scorer.upright(
            float(f.body_angle_deg[i]), float(f.torso_angle_deg[i]), float(f.aspect_wh[i])
        ) and not any(
            # Kneeling (shins along the floor) and seated (thighs along the seat) keep
            # the torso upright too, but a descent from there is no fall.
            np.isfinite(a) and a > self._rules.upright_max_leg_deg
            for a in (float(f.thigh_angle_deg[i]), float(f.shin_angle_deg[i]))
        )

    def _descent(self, p: _Person, f: PostureFeatures, i: int, t_s: float, upright: bool) -> None:
        """From an upright posture, the top of the body dropping fast (in units of the
        upright height) or the body swinging towards horizontal: a fall is seen."""
        r = self._rules
        top = float(f.top_y[i])
        angle = float(f.body_angle_deg[i]) if f.legs_seen[i] else float("nan")
        bottom = float(f.bottom_y[i])
        p.recent.append((t_s, top, bottom, angle, upright))
        while p.recent and t_s - p.recent[0][0] > r.descent_window_s:
            p.recent.popleft()
        from_upright = any(u for *_, u in p.recent)
        dropped = fast = False
        if from_upright and p.baseline is not None and p.baseline.height_px > 0:
            highest = min(y for _, y, _, _, u in p.recent if u)
            dropped = (top - highest) / p.baseline.height_px >= r.descent_min_drop
            # Fast, and the top came down towards the feet: a person walking towards a
            # high camera also moves down the picture, but feet and head together.
            fast = any(
                (top - y) - (bottom - b) >= r.descent_min_drop * p.baseline.height_px
                for ts, y, b, _, u in p.recent
                if u and t_s - ts <= r.fast_descent_s
            )
        # The median of the last three angles: one noisy skeleton is not a swing.
        last = [a for _, _, _, a, _ in list(p.recent)[-3:] if np.isfinite(a)]
        swung = from_upright and len(last) >= 2 and float(np.median(last)) >= r.descent_swing_to_deg
        if (dropped or swung) and (p.fall_seen_s is None or p.state == FallState.UPRIGHT):
            p.fall_seen_s = t_s
            p.uncontrolled = False
        if p.fall_seen_s is not None and (fast or swung):
            p.uncontrolled = True

    def _vote(self, p: _Person, t_s: float, down: bool) -> None:
        dt = (
            0.0
            if p.last_t_s is None
            else min(self._rules.max_sample_gap_s, max(0.0, t_s - p.last_t_s))
        )
        p.last_t_s = t_s
        p.last_down = down
        p.votes.append((t_s, dt, down))
        horizon = max(self.config.confirm_s, self.config.found_down_s) + self._rules.vote_margin_s
        while p.votes and t_s - p.votes[0][0] > horizon:
            p.votes.popleft()

    def _down_share(self, p: _Person, t_s: float, window_s: float) -> float:
        total = sum(dt for t, dt, d in p.votes if t_s - t < window_s and d)
        return min(1.0, total / window_s)

    def _window_s(self, p: _Person) -> float:
        if (
            p.fall_seen_s is not None
            and p.down_from_s is not None
            and (p.down_from_s - p.fall_seen_s <= self.config.fall_memory_s)
        ):
            return self.config.confirm_s
        return self.config.found_down_s

    def _step(self, p: _Person, t_s: float) -> list[FallEvent]:
        cfg = self.config
        down = p.last_down
        events: list[FallEvent] = []
        seen_s = p.fall_seen_s
        if (
            seen_s is not None
            and p.state == FallState.UPRIGHT
            and not down
            and t_s - seen_s <= cfg.fall_memory_s
        ):
            p.state = FallState.FALLING
        if (
            p.state == FallState.FALLING
            and not down
            and seen_s is not None
            and t_s - seen_s > cfg.fall_memory_s
        ):
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
                    and t_s - p.seated_s <= self._rules.resting_after_seated_s
                )
            if p.resting and not (np.isfinite(p.level) and p.level < self._rules.raised_max_level):
                # Off the bed and on the floor (or no longer seen to be up there).
                p.resting = False
        else:
            if p.up_since_s is None:
                p.up_since_s = t_s
        if p.state == FallState.DOWN and p.down_from_s is not None:
            window = self._window_s(p)
            resting = p.resting and window != cfg.confirm_s
            if (
                not resting
                and t_s - p.down_from_s >= window
                and (self._down_share(p, t_s, window) >= cfg.confirm_ratio)
            ):
                p.state = FallState.ALERTED
                p.alerted_kind = EventKind.FALL if window == cfg.confirm_s else EventKind.FOUND_DOWN
                events.append(self._event(p, p.alerted_kind, t_s))
        recovered = p.up_since_s is not None and t_s - p.up_since_s >= cfg.recover_s
        if p.state in (FallState.DOWN, FallState.ALERTED) and recovered:
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
            down_share=self._down_share(p, t_s, self._window_s(p))
            if p.down_from_s is not None
            else 0.0,
            down_for_s=down_for,
            ignored=p.ignored,
        )
