"""Tracker config: how detections are joined into one track per person across frames."""

from __future__ import annotations

from pydantic import Field

from fallwatch.config.base import Section


class TrackerConfig(Section):
    """How `fallwatch.track.tracker.PersonTracker` matches detections to people."""

    max_age_s: float = Field(
        2.0, gt=0, description="A track unseen for longer than this is dropped, seconds."
    )
    min_iou: float = Field(
        0.1, ge=0, le=1, description="IoU at or above which a detection may continue a track."
    )
    max_center_dist: float = Field(
        0.8,
        gt=0,
        description="Centre distance, in units of the track's box diagonal, below which a "
        "detection may continue a track (covers the tall-to-wide change of a fall).",
    )
    new_track_min_score: float = Field(
        0.25, description="Detections below this score only extend existing tracks."
    )
    duplicate_containment: float = Field(
        0.7,
        description="A detection with at least this share of its box inside a "
        "higher-scored one, and whose seen keypoints lie on that one's, is a partial "
        "duplicate of the same person.",
    )
    duplicate_keypoint_dist: float = Field(
        0.15,
        description="Median distance between the shared keypoints of two detections, in "
        "units of the smaller box's diagonal, below which they are the same body.",
    )
    duplicate_min_keypoint_score: float = Field(
        0.2,
        ge=0,
        le=1,
        description="Keypoints at or above this confidence count as seen when comparing "
        "two detections for duplicates.",
    )
    duplicate_min_shared_keypoints: int = Field(
        3,
        ge=1,
        description="Two detections are compared only when at least this many keypoints "
        "are seen in both.",
    )
