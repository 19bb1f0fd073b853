"""Builders for store tests (imported by the tests; fixtures live in conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from fallwatch.types import EventKind, FallEvent

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


def make_event(
    camera_id: str = "ward-1",
    track_id: int = 1,
    t_s: float = 112.0,
    down_for_s: float = 10.0,
) -> FallEvent:
    return FallEvent(
        kind=EventKind.FALL,
        camera_id=camera_id,
        track_id=track_id,
        t_s=t_s,
        down_from_s=t_s - down_for_s,
        fall_seen_s=t_s - down_for_s - 1.5,
        xyxy=(0.0, 0.0, 10.0, 10.0),
        down_score=0.85,
    )
