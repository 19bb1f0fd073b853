"""Events: storing one with its alerts, the operator's acknowledge and resolve, reading.

Functions take an open `Session` and never commit: the caller owns the transaction
(`with sessions.begin() as session: ...`), so "store the event and its alerts" is one
transaction however many functions it calls. All times are aware UTC datetimes passed in
by the caller (an injectable clock), never read here.

An event's alerts are rows of `alerts`: storing, acknowledging and resolving an event
queue or cancel them through that module, which never calls back into this one.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from fallwatch.store.alerts import AlertTarget, add_alerts, suppress_pending
from fallwatch.store.errors import NotFound
from fallwatch.store.models import Alert, Event
from fallwatch.types import AlertKind, AlertStatus, EventKind, EventState, FallEvent

# --- writing events -------------------------------------------------------------


def record_event(
    session: Session,
    event: FallEvent,
    *,
    targets: Sequence[AlertTarget],
    now: datetime,
    alert_status: AlertStatus = AlertStatus.PENDING,
    reason: str | None = None,
    location: str | None = None,
    snapshot_path: str | None = None,
    clip_path: str | None = None,
) -> Event:
    """Store a fall or found-down event and one `alert` row per target, in `session`'s transaction.

    Event times come from the classifier's clock (`t_s`, media or wall seconds); they
    are turned into wall-clock datetimes relative to `now`, which is when the event was
    raised. `alert_status` is `pending` normally or `suppressed` when a policy holds the
    alerts back, with `reason` saying which.
    """
    if event.kind is EventKind.RECOVERED:
        raise ValueError("a recovered event closes an earlier event: use resolve_track")
    if alert_status not in (AlertStatus.PENDING, AlertStatus.SUPPRESSED):
        raise ValueError(f"alert_status must be pending or suppressed, got {alert_status}")
    fall_seen_at = (
        None
        if event.fall_seen_s is None
        else now - timedelta(seconds=event.t_s - event.fall_seen_s)
    )
    row = Event(
        camera_id=event.camera_id,
        track_id=event.track_id,
        kind=str(event.kind),
        fall_seen_at=fall_seen_at,
        down_from_at=now - timedelta(seconds=max(0.0, event.down_for_s)),
        # An alarm with no one to notify is still open on the dashboard: `suppressed`
        # means a policy (cooldown, cap) held its alerts back.
        state=EventState.SUPPRESSED if alert_status is AlertStatus.SUPPRESSED else EventState.OPEN,
        notes=reason,
        location=location,
        snapshot_path=snapshot_path,
        clip_path=clip_path,
        down_score=float(event.down_score),
        created_at=now,
    )
    session.add(row)
    session.flush()  # assigns row.id for the alerts
    add_alerts(
        session,
        row.id,
        AlertKind.ALERT,
        targets,
        now=now,
        status=alert_status,
        reason=reason,
    )
    return row


def get_event(session: Session, event_id: int) -> Event:
    row = session.get(Event, event_id)
    if row is None:
        raise NotFound(f"no event with id {event_id}")
    return row


def acknowledge_event(
    session: Session, event_id: int, *, by: str, now: datetime, note: str | None = None
) -> Event:
    """An operator takes the event on: no escalation from now on. Idempotent."""
    row = get_event(session, event_id)
    if row.acknowledged_at is None:
        row.acknowledged_at = now
        row.acknowledged_by = by
    if row.state in (EventState.OPEN, EventState.SUPPRESSED):
        row.state = EventState.ACKNOWLEDGED
    if note:
        row.notes = f"{row.notes}\n{note}" if row.notes else note
    suppress_pending(session, event_id, [AlertKind.ESCALATION], f"acknowledged by {by}", now)
    return row


def resolve_event(
    session: Session,
    event_id: int,
    *,
    by: str,
    now: datetime,
    note: str | None = None,
    notify_channels: Collection[str] | None = (),
) -> Event:
    """Close an event (person up again, or an operator closed it). Idempotent.

    Pending escalations are cancelled. When `notify_channels` is not empty (None means
    every channel), a `resolved` message is queued for each (channel, recipient) that
    was sent, or is still being sent, the alert or the escalation, so whoever heard
    "person down" also hears "resolved". A resolved message waits for the alert to the
    same recipient to finish first (see `claim_due_alerts`).
    """
    row = get_event(session, event_id)
    if row.state is EventState.RESOLVED:
        return row
    was_suppressed = row.state is EventState.SUPPRESSED
    row.state = EventState.RESOLVED
    row.resolved_at = now
    row.resolved_by = by
    if note:
        row.notes = f"{row.notes}\n{note}" if row.notes else note
    suppress_pending(session, event_id, [AlertKind.ESCALATION], f"resolved by {by}", now)
    if was_suppressed or (notify_channels is not None and not notify_channels):
        return row
    query = select(Alert.channel, Alert.recipient).where(
        Alert.event_id == event_id,
        Alert.kind.in_([AlertKind.ALERT, AlertKind.ESCALATION]),
        Alert.status.in_([AlertStatus.PENDING, AlertStatus.SENDING, AlertStatus.DELIVERED]),
    )
    if notify_channels is not None:
        query = query.where(Alert.channel.in_(list(notify_channels)))
    targets = [AlertTarget(c, r) for c, r in session.execute(query.order_by(Alert.created_at))]
    add_alerts(session, event_id, AlertKind.RESOLVED, targets, now=now)
    return row


def mark_recovered(session: Session, event_id: int, *, now: datetime) -> Event:
    """The person is up again: a line on the event's timeline, not a resolution (the
    alarm stays as it is until someone acknowledges it). The first time counts."""
    row = get_event(session, event_id)
    if row.recovered_at is None:
        row.recovered_at = now
    return row


def find_open_event_for_track(session: Session, camera_id: str, track_id: int) -> Event | None:
    """The latest not-yet-resolved event for one person on one camera."""
    query = (
        select(Event)
        .where(
            Event.camera_id == camera_id,
            Event.track_id == track_id,
            Event.state != EventState.RESOLVED,
        )
        .order_by(Event.id.desc())
        .limit(1)
    )
    return session.execute(query).scalars().first()


# --- reading for the UI and API ---------------------------------------------------


@dataclass(frozen=True)
class EventRow:
    """An event as the dashboard lists it, with a summary of its alerts."""

    id: int
    camera_id: str
    track_id: int
    kind: str
    state: EventState
    location: str | None
    created_at: datetime
    down_from_at: datetime
    fall_seen_at: datetime | None
    alerted_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    recovered_at: datetime | None
    down_score: float
    notes: str | None
    snapshot_path: str | None
    clip_path: str | None
    alerts_total: int
    alerts_delivered: int
    alerts_failed: int


def _event_rows(session: Session, events: Sequence[Event]) -> list[EventRow]:
    ids = [e.id for e in events]
    counts: dict[int, dict[AlertStatus, int]] = {}
    if ids:
        for event_id, status, n in session.execute(
            select(Alert.event_id, Alert.status, func.count())
            .where(Alert.event_id.in_(ids))
            .group_by(Alert.event_id, Alert.status)
        ):
            counts.setdefault(event_id, {})[status] = int(n)
    out = []
    for e in events:
        c = counts.get(e.id, {})
        out.append(
            EventRow(
                id=e.id,
                camera_id=e.camera_id,
                track_id=e.track_id,
                kind=e.kind,
                state=e.state,
                location=e.location,
                created_at=e.created_at,
                down_from_at=e.down_from_at,
                fall_seen_at=e.fall_seen_at,
                alerted_at=e.alerted_at,
                acknowledged_at=e.acknowledged_at,
                acknowledged_by=e.acknowledged_by,
                resolved_at=e.resolved_at,
                resolved_by=e.resolved_by,
                recovered_at=e.recovered_at,
                down_score=e.down_score,
                notes=e.notes,
                snapshot_path=e.snapshot_path,
                clip_path=e.clip_path,
                alerts_total=sum(c.values()),
                alerts_delivered=c.get(AlertStatus.DELIVERED, 0),
                alerts_failed=c.get(AlertStatus.FAILED, 0),
            )
        )
    return out


def list_events(
    session: Session,
    *,
    states: Sequence[EventState] | None = None,
    camera_id: str | None = None,
    before_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    text: str | None = None,
    text_camera_ids: Collection[str] = (),
    limit: int = 50,
) -> list[EventRow]:
    """Newest first; page with `before_id` (the last id of the previous page).

    `since` and `until` bound `created_at` (at or after, before). `text` keeps events
    whose location contains it (any case) or whose camera is in `text_camera_ids`: camera
    names live in the config, not here, so the caller matches them.
    """
    query = select(Event).order_by(Event.id.desc()).limit(limit)
    if states:
        query = query.where(Event.state.in_(list(states)))
    if camera_id is not None:
        query = query.where(Event.camera_id == camera_id)
    if before_id is not None:
        query = query.where(Event.id < before_id)
    if since is not None:
        query = query.where(Event.created_at >= since)
    if until is not None:
        query = query.where(Event.created_at < until)
    if text:
        query = query.where(
            or_(
                Event.location.icontains(text, autoescape=True),
                Event.camera_id.in_(list(text_camera_ids)),
            )
        )
    return _event_rows(session, list(session.execute(query).scalars()))


def read_event(session: Session, event_id: int) -> EventRow:
    return _event_rows(session, [get_event(session, event_id)])[0]


def media_paths(session: Session) -> set[str]:
    """Every snapshot and clip path the events refer to (for retention checks)."""
    out: set[str] = set()
    for snap, clip in session.execute(select(Event.snapshot_path, Event.clip_path)):
        out.update(p for p in (snap, clip) if p)
    return out
