"""Builders for store tests (imported by the tests; fixtures live in conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from fallwatch.store.alerts import AlertTarget
from fallwatch.store.events import record_event
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


TARGETS = [
    AlertTarget("sms", "01011112222"),
    AlertTarget("sms", "01033334444"),
    AlertTarget("hook"),
]


def record(sessions: sessionmaker[Session], **kw: object) -> int:
    """Store one event (make_event's defaults, overridden by `kw`) alerting TARGETS."""
    with sessions.begin() as session:
        row = record_event(session, make_event(**kw), targets=TARGETS, now=T0)  # type: ignore[arg-type]
        return row.id
