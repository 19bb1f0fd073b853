"""Fall classifier config: thresholds of the per-person state machine, zones, sizes, and
the tracker that follows each person (the rules judge tracks, so they travel together)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from fallwatch.config.base import Section
from fallwatch.config.fall_rules import FallRulesConfig
from fallwatch.config.track import TrackerConfig

Point = tuple[float, float]


def _orient(a: Point, b: Point, c: Point) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _segments_cross(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    """True when the two segments properly cross (touching at an end does not count)."""
    d1, d2 = _orient(q1, q2, p1), _orient(q1, q2, p2)
    d3, d4 = _orient(p1, p2, q1), _orient(p1, p2, q2)
    return d1 * d2 < 0 and d3 * d4 < 0


def _first_crossing(v: list[Point]) -> tuple[int, int] | None:
    """The first pair of non-adjacent edges of the closed polygon `v` that cross, if any."""
    n = len(v)
    for i in range(n):
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # adjacent through the closing edge
            if _segments_cross(v[i], v[(i + 1) % n], v[j], v[(j + 1) % n]):
                return i, j
    return None


class ZoneConfig(Section):
    """A polygon in frame pixels where lying down is normal (a bed, a sofa)."""

    name: str = Field("zone", description="Label shown on the annotated video.")
    polygon_xy: list[tuple[float, float]] = Field(
        description="Corners as [x, y] pixels of the camera frame, at least 3."
    )

    @field_validator("polygon_xy")
    @classmethod
    def _valid_polygon(cls, v: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if len(v) < 3:
            raise ValueError(f"a zone polygon needs at least 3 points, got {len(v)}")
        crossing = _first_crossing(v)
        if crossing is not None:
            i, j = crossing
            raise ValueError(
                f"a zone polygon must not be self-intersecting (a bow-tie): edge {i} "
                f"({v[i]} to {v[(i + 1) % len(v)]}) crosses edge {j} "
                f"({v[j]} to {v[(j + 1) % len(v)]}); list the corners in order around the zone"
            )
        # Shoelace area: collinear or repeated points enclose nothing.
        area2 = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(v, v[1:] + v[:1], strict=True))
        if abs(area2) < 1e-6:
            raise ValueError("a zone polygon must enclose an area (its points are collinear)")
        return v


class SequenceModelConfig(Section):
    """A learned scorer of each person's last seconds (fallwatch.fall.sequence), combined
    with the rules' per-frame down decision."""

    path: str | None = Field(
        None,
        description="Weights file written by `fallwatch train`; none = the one shipped in "
        "fallwatch/fall/models/sequence.json.",
    )
    threshold: float = Field(
        0.5, ge=0, le=1, description="p(fallen) at or above which the model calls a person down."
    )
    combine: Literal["either", "both", "model"] = Field(
        "either",
        description="'either': down when the rules say so, or after a seen fall when the "
        "model does; 'both': down when both say so (the model vetoes); 'model': the model "
        "alone decides down (fall-seen, vote and zones stay the rules').",
    )


class FallConfig(Section):
    """When a tracked person counts as fallen, and when that raises an alert."""

    confirm_s: float = Field(
        10.0,
        gt=0,
        le=600,
        description="Seconds a person must stay down after a fall before the alert.",
    )
    confirm_ratio: float = Field(
        0.8,
        gt=0,
        le=1,
        description="Share of the confirm window that must be judged down: a vote, so a "
        "missed frame or two does not reset the timer.",
    )
    found_down_s: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Seconds a person found lying with no fall seen must stay down before "
        "the alert. Longer than confirm_s because people do lie down on purpose (resting on "
        "the floor, exercising); a full minute still down is worth a call.",
    )
    fall_memory_s: float = Field(
        1.5,
        gt=0,
        le=30,
        description="A fast descent seen within this many seconds before the person is "
        "down makes the episode a fall (confirm_s) rather than found-down (found_down_s). "
        "A fall lands within a second or so of the descent; kneeling first and then lying "
        "down (prayer, floor exercise) takes longer.",
    )
    down_enter: float = Field(
        0.6,
        ge=0,
        le=1,
        description="Per-frame lying score at or above which a person counts as down.",
    )
    down_exit: float = Field(
        0.4,
        ge=0,
        le=1,
        description="Lying score below which a down person counts as up (hysteresis).",
    )
    recover_s: float = Field(
        2.0, gt=0, le=60, description="Seconds up before a down or alerted person is recovered."
    )
    min_person_height_px: float = Field(
        24.0, ge=0, description="People whose box is smaller than this on both sides are ignored."
    )
    min_keypoint_score: float = Field(
        0.2, ge=0, le=1, description="Keypoints below this confidence are treated as unseen."
    )
    lost_track_s: float = Field(
        3.0, gt=0, le=60, description="A down person unseen for this long is forgotten."
    )
    zones: list[ZoneConfig] = Field(
        default_factory=list, description="Ignore zones where lying down raises no alert."
    )
    sequence_model: SequenceModelConfig | None = Field(
        None,
        description="Learned window scorer combined with the rules; none = rules only "
        "(the default: see docs/learned.md for why).",
    )
    rules: FallRulesConfig = Field(
        default_factory=FallRulesConfig,
        description="Finer thresholds of the fall rules (posture scores, descent, seated, "
        "baseline); the defaults are the measured ones, change them only with an evaluation.",
    )
    tracker: TrackerConfig = Field(
        default_factory=TrackerConfig,
        description="How detections are joined into one track per person across frames.",
    )

    @field_validator("down_exit")
    @classmethod
    def _hysteresis(cls, v: float, info: object) -> float:
        data = getattr(info, "data", {})
        enter = data.get("down_enter")
        if enter is not None and v > enter:
            raise ValueError(f"down_exit ({v}) must not exceed down_enter ({enter})")
        return v
