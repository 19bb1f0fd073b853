"""The fall rules' thresholds: how one frame's posture becomes a down score, and what the
per-person state machine counts as a descent, upright, seated or resting.

Heights and drops are in *upright heights*: the person's own standing height in pixels
(their baseline), so one setting fits every distance from the camera. Angles are degrees
from vertical (0 upright, 90 horizontal). A `Span` used as a ramp scores 0 at `lo`, 1 at
`hi` and linearly between.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from fallwatch.config.base import Section
from fallwatch.posture import ARM_SUPPORT_MAX_DEG, ARM_SUPPORT_MIN_LENGTH


class Span(Section):
    """A range `lo`..`hi`: a ramp from 0 to 1, or the bounds a value must lie within."""

    lo: float = Field(description="Low end (the ramp's 0).")
    hi: float = Field(description="High end (the ramp's 1); above lo.")

    @model_validator(mode="after")
    def _ordered(self) -> Span:
        if self.hi <= self.lo:
            raise ValueError(f"hi ({self.hi}) must be above lo ({self.lo})")
        return self


def _span(lo: float, hi: float, description: str) -> Span:
    span: Span = Field(default_factory=lambda: Span(lo=lo, hi=hi), description=description)
    return span


class FallRulesConfig(Section):
    """Thresholds of the fall rules (defaults measured on the dev clips): one frame's down
    score from posture and collapse, then descent, upright, seated and resting."""

    lying_body_deg: Span = _span(
        40.0, 65.0, "Ramp of the body axis angle (feet to shoulders), degrees, with legs seen."
    )
    lying_part_deg: Span = _span(
        15.0,
        40.0,
        "Ramp of the torso and thigh angles, degrees: lying means both are off vertical "
        "too, which keeps out sitting on the floor and all fours.",
    )
    no_legs_torso_deg: Span = _span(
        55.0,
        75.0,
        "Ramp of the torso angle, degrees, with no legs seen: the torso alone leans when "
        "bending over, so it must lean further.",
    )
    no_legs_aspect_wh: Span = _span(
        1.0, 1.5, "Ramp of the box's width over height with no legs seen."
    )
    wide_aspect_wh: Span = _span(
        0.9, 1.5, "Ramp of the box's (or keypoints') width over height: a lying body is wide."
    )
    axis_weight: float = Field(
        0.6, ge=0, le=1, description="Weight of the axis score in the geometry score."
    )
    wide_weight: float = Field(
        0.4, ge=0, le=1, description="Weight of the width score in the geometry score."
    )
    no_skeleton_wide_weight: float = Field(
        0.8,
        ge=0,
        le=1,
        description="With too few keypoints seen, the geometry score is this share of the width score.",
    )
    min_visible_fraction: float = Field(
        0.25,
        ge=0,
        le=1,
        description="Share of keypoints that must be seen for the skeleton to count "
        "(axis scores, the floor score, the fallen-class veto).",
    )
    collapse_drop: Span = _span(
        0.45,
        0.7,
        "Ramp of the top of the body's drop below its upright place, upright heights, "
        "for a collapse (with collapse_shrink).",
    )
    collapse_shrink: Span = _span(
        0.25, 0.5, "Ramp of how much shorter than upright the body is, share of the upright height."
    )
    head_at_feet_drop: Span = _span(
        0.8,
        1.0,
        "Ramp of the top of the body's drop, upright heights: the head where the feet were "
        "(a fall towards the camera keeps the axis vertical and the size).",
    )
    held_up_wide_weight: float = Field(
        0.4,
        ge=0,
        le=1,
        description="A body held up on straight arms scores only this share of its width.",
    )
    fallen_agree_score: float = Field(
        0.4,
        gt=0,
        le=1,
        description="In hybrid mode, a fallen-class score at or above this fully agrees "
        "with the pose; below it vetoes in proportion.",
    )
    floor_drop: Span = _span(
        0.35,
        0.5,
        "Ramp of the top of the body's drop below its upright place, upright heights, for "
        "a post-fall floor posture: sitting on the floor lowers the head by about half the "
        "height, sitting on a chair by a quarter to a third.",
    )
    floor_level: Span = _span(
        0.68,
        0.8,
        "Ramp of the hips' level (or the knees', less knee_to_hip) below the upright top, "
        "upright heights: standing hips are near 0.5, on a chair near 0.7, on the floor 0.8-1.0.",
    )
    knee_to_hip: float = Field(
        0.2,
        ge=0,
        description="Knees' level minus the hips', upright heights: kneeling puts the knees "
        "where the feet were (1.0) and the hips near 0.8.",
    )
    floor_drop_no_legs: Span = _span(
        0.5,
        0.65,
        "Ramp of the top of the body's drop, upright heights, with no hips or knees seen: "
        "the head alone must be lower to count as at floor level.",
    )
    arm_support_max_deg: float = Field(
        ARM_SUPPORT_MAX_DEG,
        ge=0,
        le=90,
        description="Shoulder-to-wrist within this angle of straight down, degrees, counts "
        "as an arm holding the body.",
    )
    arm_support_min_length: float = Field(
        ARM_SUPPORT_MIN_LENGTH,
        ge=0,
        description="...and at least this many torso lengths long (a lying arm seen end-on is short).",
    )

    max_sample_gap_s: float = Field(
        0.5,
        gt=0,
        description="A frame stands for at most this long in the vote, seconds, so a stalled "
        "source cannot vote alone.",
    )
    descent_window_s: float = Field(
        1.5,
        gt=0,
        description="A fall is seen when, within this time of an upright posture, seconds, the "
        "upper body drops by descent_min_drop or the body axis reaches descent_swing_to_deg. "
        "Lying down on purpose takes longer and passes through kneeling or sitting.",
    )
    descent_min_drop: float = Field(
        0.4, gt=0, description="Drop of the top of the body that is a descent, upright heights."
    )
    descent_swing_to_deg: float = Field(
        60.0,
        ge=0,
        le=90,
        description="Body axis angle that is a swing towards horizontal, degrees.",
    )
    fast_descent_s: float = Field(
        1.0,
        gt=0,
        description="A drop of descent_min_drop within this time, seconds, is uncontrolled: "
        "people who sit or kneel down on purpose lower themselves over 1.5 s or more, and "
        "only after such a fast drop (or a swing) does a floor posture that is not lying count as down.",
    )
    upright_max_deg: float = Field(
        25.0,
        ge=0,
        le=90,
        description="Body axis and torso within this angle of vertical, degrees, count as upright.",
    )
    upright_max_leg_deg: float = Field(
        55.0,
        ge=0,
        le=90,
        description="Thighs and shins within this angle of vertical, degrees: standing or "
        "walking (a stride swings them 30-40 degrees), not seated or kneeling.",
    )
    upright_max_box_aspect_wh: float = Field(
        0.7,
        gt=0,
        description="Without keypoints, a box at most this wide for its height counts as upright.",
    )
    upright_max_score: float = Field(
        0.25, ge=0, le=1, description="Only frames with a down score below this can be upright."
    )
    baseline_window_s: float = Field(
        4.0,
        gt=0,
        description="The upright baseline is taken over this much of the person's latest upright time, seconds.",
    )
    baseline_top_percentile: float = Field(
        20.0,
        ge=0,
        le=100,
        description="Percentile of the upright top of the body taken as its place (a "
        "percentile, not a mean, so the first frames of a fall do not drag it down).",
    )
    baseline_height_percentile: float = Field(
        80.0,
        ge=0,
        le=100,
        description="Percentile of the upright heights taken as the upright height.",
    )
    arm_support_window_s: float = Field(
        1.0, gt=0, description="Time over which arm support is judged, seconds."
    )
    arm_support_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="A body held up on straight arms in at least this share of the last "
        "arm_support_window_s is not lying (push-ups, a plank, all fours).",
    )
    seated_max_torso_deg: float = Field(
        30.0,
        ge=0,
        le=90,
        description="Torso within this angle of vertical, degrees, may be seated.",
    )
    seated_drop: Span = _span(
        0.15,
        0.5,
        "Bounds of the top of the body's drop below its upright place, upright heights, with "
        "the torso upright: seated on a chair, a bed or a sofa (on the floor it is about half).",
    )
    resting_after_seated_s: float = Field(
        6.0,
        ge=0,
        description="Lying down within this time of being seated, seconds, with no fall seen, "
        "is lying down on purpose (sitting first, then a slow descent).",
    )
    raised_max_level: float = Field(
        0.8,
        description="Hips at most this far below the upright top, upright heights, are on a "
        "raised surface (a bed, a sofa); on the floor they are where the feet were, near 1.0.",
    )
    alerted_memory_s: float = Field(
        120.0,
        ge=0,
        description="How long a lost alerted person is remembered, seconds, to suppress a "
        "repeat alert at that place.",
    )
    same_place_min_iou: float = Field(
        0.3,
        ge=0,
        le=1,
        description="A new track whose box overlaps a lost alerted person's last box this "
        "much (IoU) is that same person.",
    )
    vote_margin_s: float = Field(
        1.0,
        ge=0,
        description="Votes are kept this long beyond the longer of confirm_s and found_down_s, seconds.",
    )
