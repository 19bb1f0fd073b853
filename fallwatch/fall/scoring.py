"""One frame's *down score* of one person, in [0, 1], from posture and from collapse
relative to that person's own upright baseline (pure: no history beyond the baseline).

Posture: body axis near horizontal (with torso and thighs off vertical too) and a wide
box. Collapse: the top of the body now near where the feet were, or the body much lower
and shorter than upright, which also catches falls towards or away from the camera where
the axis stays vertical. After an uncontrolled fall, any floor posture scores as down.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fallwatch.config.fall_rules import FallRulesConfig, Span
from fallwatch.posture import PostureFeatures


def ramp(x: float, span: Span) -> float:
    """0 at or below `span.lo`, 1 at or above `span.hi`, linear between; 0 for NaN."""
    if not np.isfinite(x):
        return 0.0
    return float(min(1.0, max(0.0, (x - span.lo) / (span.hi - span.lo))))


@dataclass
class Baseline:
    """A person's upright reference: where the top of the body is and how tall, pixels."""

    top_y: float
    height_px: float


class PostureScorer:
    """Scores one person in one frame against the fall rules' thresholds."""

    def __init__(self, rules: FallRulesConfig) -> None:
        self.rules = rules
        self._agree = Span(lo=0.0, hi=rules.fallen_agree_score)

    def upright(self, body_angle_deg: float, torso_angle_deg: float, aspect_wh: float) -> bool:
        """Body axis and torso near vertical (without a skeleton: a narrow box)."""
        angles = [a for a in (body_angle_deg, torso_angle_deg) if np.isfinite(a)]
        if angles:
            return max(angles) <= self.rules.upright_max_deg
        # A box detector gives no skeleton: a tall narrow box is the best it can say.
        return aspect_wh <= self.rules.upright_max_box_aspect_wh

    def level(self, f: PostureFeatures, i: int, base: Baseline) -> float:
        """How low the hips (or the knees, less `knee_to_hip`) are below the upright top, in
        upright heights: about 0.5 standing, 0.7 seated on a chair, 0.8-1.0 on the floor;
        NaN with neither seen."""
        levels = [
            (float(y) - base.top_y) / base.height_px - offset
            for y, offset in ((f.hip_y[i], 0.0), (f.knee_y[i], self.rules.knee_to_hip))
            if np.isfinite(y)
        ]
        return max(levels) if levels else float("nan")

    def floor_score(self, f: PostureFeatures, i: int, base: Baseline) -> float:
        """At floor level in any posture (lying, sitting with the legs out, kneeling or
        curled with the head low), judged against the person's own upright place."""
        if base.height_px <= 0:
            return 0.0
        drop = (float(f.top_y[i]) - base.top_y) / base.height_px
        level = self.level(f, i, base)
        if not np.isfinite(level):
            return ramp(drop, self.rules.floor_drop_no_legs)
        return ramp(drop, self.rules.floor_drop) * ramp(level, self.rules.floor_level)

    def _geometry(self, f: PostureFeatures, i: int) -> tuple[float, float]:
        """(geometry score, width score) from the body's angles and the box's shape."""
        r = self.rules
        aspect = float(f.aspect_wh[i])
        kp_aspect = float(f.keypoint_aspect_wh[i])
        if f.legs_seen[i]:
            axis = ramp(float(f.body_angle_deg[i]), r.lying_body_deg)
            # Lying means torso and thighs are both off vertical too: this keeps out
            # sitting on the floor (torso upright) and all fours (thighs upright).
            for part in (float(f.torso_angle_deg[i]), float(f.thigh_angle_deg[i])):
                if np.isfinite(part):
                    axis = min(axis, ramp(part, r.lying_part_deg))
        else:
            # Without legs the torso alone leans when bending over: ask for more.
            axis = ramp(float(f.torso_angle_deg[i]), r.no_legs_torso_deg) * ramp(
                aspect, r.no_legs_aspect_wh
            )
        wide = ramp(max(aspect, kp_aspect if np.isfinite(kp_aspect) else 0.0), r.wide_aspect_wh)
        if f.visible_fraction[i] > r.min_visible_fraction:
            return r.axis_weight * axis + r.wide_weight * wide, wide
        return wide * r.no_skeleton_wide_weight, wide

    def _collapse(self, f: PostureFeatures, i: int, base: Baseline | None) -> float:
        if base is None or base.height_px <= 0:
            return 0.0
        r = self.rules
        drop = (float(f.top_y[i]) - base.top_y) / base.height_px
        shrink = 1.0 - float(f.height_px[i]) / base.height_px
        # Much shorter and lower than upright, or the head where the feet were (a
        # fall towards the camera keeps the axis vertical and the size).
        return max(
            ramp(drop, r.collapse_drop) * ramp(shrink, r.collapse_shrink),
            ramp(drop, r.head_at_feet_drop),
        )

    def score(
        self,
        f: PostureFeatures,
        i: int,
        base: Baseline | None,
        fallen: float,
        after_fall: bool = False,
        held_up: bool | None = None,
    ) -> float:
        """This frame's down score; `held_up` says the body has rested on straight arms
        for most of the last moments (default: this frame's arm support alone)."""
        r = self.rules
        geometry, wide = self._geometry(f, i)
        collapse = self._collapse(f, i, base)
        if f.arm_support[i] if held_up is None else held_up:
            # A body held up on straight arms (push-ups, a plank, all fours) is not
            # lying, however low and long it is; after a fall, pushing up on the arms
            # is still being down (the floor score below keeps it).
            geometry = r.held_up_wide_weight * wide
            if not after_fall:
                collapse = 0.0
        score = max(geometry, collapse)
        seen = f.visible_fraction[i] > r.min_visible_fraction
        if after_fall and base is not None and seen:
            # After an uncontrolled fall, sitting up or kneeling on the floor is still
            # down: only standing up again is recovering.
            score = max(score, self.floor_score(f, i, base))
        if np.isfinite(fallen):
            # A detector with a "fallen" class: alone it decides; with keypoints (hybrid)
            # both must agree. A box model's class score is not calibrated like ours, so
            # it agrees from `fallen_agree_score` up and vetoes in proportion below it.
            score = min(score, ramp(fallen, self._agree)) if seen else fallen
        return score
