"""Every query the notifier and (later) the web layer need; no SQL anywhere else.

Functions take an open `Session` and never commit: the caller owns the transaction
(`with sessions.begin() as session: ...`), so "store the event and its alerts" is one
transaction however many functions it calls. All times are aware UTC datetimes passed in
by the caller (an injectable clock), never read here.

Claiming is a conditional `UPDATE ... WHERE status = 'pending'` checked by row count: it
is atomic on SQLite (one writer at a time) and on PostgreSQL (the row lock makes a second
dispatcher re-check the WHERE and find the row taken), so two dispatchers never send the
same alert, with no dialect-specific SQL.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, func, select, update
from sqlalchemy.orm import Session, selectinload

from fallwatch.store.models import (
    Alert,
    AlertKind,
    AlertStatus,
    DeliveryAttempt,
    Event,
    EventState,
)
from fallwatch.types import EventKind, FallEvent

ERROR_TEXT_MAX = 2000
"""Characters of a provider's answer or an error kept per attempt."""


class EventNotFound(LookupError):
    """No event with that id (the web layer turns this into a 404)."""


@dataclass(frozen=True)
class AlertTarget:
    """Where one alert goes: a configured channel and a recipient on it ('' when none)."""

    channel: str
    recipient: str = ""


@dataclass(frozen=True)
class EventInfo:
    """What a message needs to know about its event (read once, at claim time)."""

    id: int
    camera_id: str
    track_id: int
    kind: str
    state: EventState
    location: str | None
    fall_seen_at: datetime | None
    down_from_at: datetime
    created_at: datetime
    down_score: float
    snapshot_path: str | None
    clip_path: str | None
    acknowledged_by: str | None
    resolved_by: str | None
    resolved_at: datetime | None


@dataclass(frozen=True)
class ClaimedAlert:
    """One alert a dispatcher holds (status `sending`) until `lease_until`."""

    alert_id: str
    attempt_id: int
    kind: AlertKind
    channel: str
    recipient: str
    attempt: int
    """1 for the first try."""
    created_at: datetime
    detail: str | None
    lease_until: datetime
    claimed_by: str
    event: EventInfo


@dataclass(frozen=True)
class AttemptOutcome:
    """What came back from one send, as the repository records it."""

    ok: bool
    http_status: int | None = None
    provider_answer: str | None = None
    provider_message_id: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class AttemptView:
    id: int
    started_at: datetime
    finished_at: datetime | None
    ok: bool | None
    http_status: int | None
    provider_answer: str | None
    provider_message_id: str | None
    error: str | None


@dataclass(frozen=True)
class AlertView:
    """An alert with its delivery history, for the API and operator tools."""

    id: str
    event_id: int
    kind: AlertKind
    channel: str
    recipient: str
    status: AlertStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    provider_message_id: str | None
    created_at: datetime
    delivered_at: datetime | None
    attempt_log: tuple[AttemptView, ...]


def new_alert_id() -> str:
    """64 random bits in hex: short enough for an SMS, never reused after a rebuild."""
    return secrets.token_hex(8)


def _clip(text: str | None) -> str | None:
    return None if text is None else text[:ERROR_TEXT_MAX]


# --- writing events and alerts -----------------------------------------------------


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
        raise ValueError(
            f"alert_status must be pending or suppressed, got {alert_status}"
        )
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
        state=(
            EventState.SUPPRESSED
            if alert_status is AlertStatus.SUPPRESSED or not targets
            else EventState.OPEN
        ),
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


def add_alerts(
    session: Session,
    event_id: int,
    kind: AlertKind,
    targets: Sequence[AlertTarget],
    *,
    now: datetime,
    status: AlertStatus = AlertStatus.PENDING,
    reason: str | None = None,
    detail: str | None = None,
) -> list[Alert]:
    """Queue one alert of `kind` per distinct target (targets already queued are skipped)."""
    query = select(Alert.channel, Alert.recipient).where(
        Alert.event_id == event_id, Alert.kind == kind
    )
    taken = {(channel, recipient) for channel, recipient in session.execute(query)}
    rows = []
    for target in dict.fromkeys(targets):  # keeps order, drops duplicates
        if (target.channel, target.recipient) in taken:
            continue
        rows.append(
            Alert(
                id=new_alert_id(),
                event_id=event_id,
                kind=kind,
                channel=target.channel,
                recipient=target.recipient,
                status=status,
                attempts=0,
                next_attempt_at=now,
                last_error=reason if status is AlertStatus.SUPPRESSED else None,
                detail=detail,
                created_at=now,
                updated_at=now,
            )
        )
    session.add_all(rows)
    session.flush()
    return rows


# --- policy queries ----------------------------------------------------------------


def last_alert_at(
    session: Session, camera_id: str, track_id: int | None = None
) -> datetime | None:
    """When the last event on the camera (and person, if given) was alerted (not suppressed)."""
    query = (
        select(func.max(Alert.created_at))
        .join(Event, Alert.event_id == Event.id)
        .where(
            Event.camera_id == camera_id,
            Alert.kind == AlertKind.ALERT,
            Alert.status != AlertStatus.SUPPRESSED,
        )
    )
    if track_id is not None:
        query = query.where(Event.track_id == track_id)
    return session.execute(query).scalar_one_or_none()


def count_alerted_events(session: Session, camera_id: str, since: datetime) -> int:
    """Events on the camera since `since` that sent (or are sending) alerts."""
    query = (
        select(func.count(func.distinct(Alert.event_id)))
        .join(Event, Alert.event_id == Event.id)
        .where(
            Event.camera_id == camera_id,
            Alert.kind == AlertKind.ALERT,
            Alert.status != AlertStatus.SUPPRESSED,
            Alert.created_at >= since,
        )
    )
    return int(session.execute(query).scalar_one())


def has_alert_kind_since(
    session: Session, camera_id: str, kind: AlertKind, since: datetime
) -> bool:
    query = select(
        exists().where(
            Alert.event_id == Event.id,
            Event.camera_id == camera_id,
            Alert.kind == kind,
            Alert.created_at >= since,
        )
    )
    return bool(session.execute(query).scalar())


def events_due_for_escalation(
    session: Session, *, created_before: datetime
) -> list[Event]:
    """Open events raised before `created_before` that alerted someone and were never escalated."""
    alerted = exists().where(
        Alert.event_id == Event.id,
        Alert.kind == AlertKind.ALERT,
        Alert.status != AlertStatus.SUPPRESSED,
    )
    escalated = exists().where(
        Alert.event_id == Event.id, Alert.kind == AlertKind.ESCALATION
    )
    query = (
        select(Event)
        .where(Event.state == EventState.OPEN, Event.created_at <= created_before)
        .where(alerted, ~escalated)
        .order_by(Event.id)
    )
    return list(session.execute(query).scalars())


# --- operator actions --------------------------------------------------------------


def get_event(session: Session, event_id: int) -> Event:
    row = session.get(Event, event_id)
    if row is None:
        raise EventNotFound(f"no event with id {event_id}")
    return row


def _suppress_pending(
    session: Session,
    event_id: int,
    kinds: Collection[AlertKind],
    reason: str,
    now: datetime,
) -> int:
    result = session.execute(
        update(Alert)
        .where(
            Alert.event_id == event_id,
            Alert.kind.in_(list(kinds)),
            Alert.status == AlertStatus.PENDING,
        )
        .values(status=AlertStatus.SUPPRESSED, last_error=reason, updated_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


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
    _suppress_pending(
        session, event_id, [AlertKind.ESCALATION], f"acknowledged by {by}", now
    )
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
    _suppress_pending(
        session, event_id, [AlertKind.ESCALATION], f"resolved by {by}", now
    )
    if was_suppressed or (notify_channels is not None and not notify_channels):
        return row
    query = select(Alert.channel, Alert.recipient).where(
        Alert.event_id == event_id,
        Alert.kind.in_([AlertKind.ALERT, AlertKind.ESCALATION]),
        Alert.status.in_(
            [AlertStatus.PENDING, AlertStatus.SENDING, AlertStatus.DELIVERED]
        ),
    )
    if notify_channels is not None:
        query = query.where(Alert.channel.in_(list(notify_channels)))
    targets = [
        AlertTarget(c, r) for c, r in session.execute(query.order_by(Alert.created_at))
    ]
    add_alerts(session, event_id, AlertKind.RESOLVED, targets, now=now)
    return row


def find_open_event_for_track(
    session: Session, camera_id: str, track_id: int
) -> Event | None:
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


# --- the dispatcher's side ---------------------------------------------------------


def requeue_expired(session: Session, *, now: datetime) -> int:
    """Alerts left `sending` by a dispatcher that died go back to `pending` after their lease.

    Their open attempt is closed with an error saying so. If that dispatcher had already
    handed the message to the provider, this is the one way an alert is sent twice; the
    idempotency key (the alert id) lets receivers drop the repeat.
    """
    expired = list(
        session.execute(
            select(Alert.id).where(
                Alert.status == AlertStatus.SENDING, Alert.lease_until < now
            )
        ).scalars()
    )
    if not expired:
        return 0
    reason = (
        "lease expired: the dispatcher stopped mid-send; outcome unknown, sending again"
    )
    session.execute(
        update(DeliveryAttempt)
        .where(
            DeliveryAttempt.alert_id.in_(expired), DeliveryAttempt.finished_at.is_(None)
        )
        .values(finished_at=now, ok=False, error=reason)
    )
    result = session.execute(
        update(Alert)
        .where(
            Alert.id.in_(expired),
            Alert.status == AlertStatus.SENDING,
            Alert.lease_until < now,
        )
        .values(
            status=AlertStatus.PENDING,
            next_attempt_at=now,
            lease_until=None,
            claimed_by=None,
            last_error=reason,
            updated_at=now,
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


@functools.cache
def _due_alerts_query() -> Select[Any]:
    # Built once: the correlated NOT EXISTS is costly to construct, and a dispatcher
    # runs this every poll.
    earlier = Alert.__table__.alias("earlier")
    unfinished_before = exists().where(
        earlier.c.event_id == Alert.event_id,
        earlier.c.channel == Alert.channel,
        earlier.c.recipient == Alert.recipient,
        earlier.c.kind.in_([AlertKind.ALERT, AlertKind.ESCALATION]),
        earlier.c.status.in_([AlertStatus.PENDING, AlertStatus.SENDING]),
    )
    return (
        select(Alert.id)
        .where(
            Alert.status == AlertStatus.PENDING,
            Alert.next_attempt_at <= bindparam("now"),
        )
        .where(~and_(Alert.kind == AlertKind.RESOLVED, unfinished_before))
        .order_by(Alert.next_attempt_at, Alert.created_at)
        .limit(bindparam("limit"))
    )


def claim_due_alerts(
    session: Session, *, now: datetime, limit: int, lease_s: float, claimed_by: str
) -> list[ClaimedAlert]:
    """Take up to `limit` due pending alerts for this dispatcher, oldest due first.

    A `resolved` message is not due while the alert or escalation to the same channel
    and recipient is still pending or sending, so nobody reads "resolved" before
    "person down".
    """
    candidates = list(
        session.execute(_due_alerts_query(), {"now": now, "limit": limit}).scalars()
    )
    lease_until = now + timedelta(seconds=lease_s)
    claimed: list[ClaimedAlert] = []
    for alert_id in candidates:
        result = session.execute(
            update(Alert)
            .where(Alert.id == alert_id, Alert.status == AlertStatus.PENDING)
            .values(
                status=AlertStatus.SENDING,
                attempts=Alert.attempts + 1,
                lease_until=lease_until,
                claimed_by=claimed_by,
                updated_at=now,
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            continue  # another dispatcher took it between our SELECT and UPDATE
        alert = session.execute(
            select(Alert)
            .where(Alert.id == alert_id)
            .options(selectinload(Alert.event))
            .execution_options(populate_existing=True)
        ).scalar_one()
        attempt = DeliveryAttempt(
            alert_id=alert_id, started_at=now, claimed_by=claimed_by
        )
        session.add(attempt)
        session.flush()
        claimed.append(
            ClaimedAlert(
                alert_id=alert.id,
                attempt_id=attempt.id,
                kind=alert.kind,
                channel=alert.channel,
                recipient=alert.recipient,
                attempt=alert.attempts,
                created_at=alert.created_at,
                detail=alert.detail,
                lease_until=lease_until,
                claimed_by=claimed_by,
                event=event_info(alert.event),
            )
        )
    return claimed


def event_info(row: Event) -> EventInfo:
    return EventInfo(
        id=row.id,
        camera_id=row.camera_id,
        track_id=row.track_id,
        kind=row.kind,
        state=row.state,
        location=row.location,
        fall_seen_at=row.fall_seen_at,
        down_from_at=row.down_from_at,
        created_at=row.created_at,
        down_score=row.down_score,
        snapshot_path=row.snapshot_path,
        clip_path=row.clip_path,
        acknowledged_by=row.acknowledged_by,
        resolved_by=row.resolved_by,
        resolved_at=row.resolved_at,
    )


def finish_attempt(
    session: Session,
    claim: ClaimedAlert,
    outcome: AttemptOutcome,
    *,
    now: datetime,
    retry_at: datetime | None,
    give_up_reason: str | None = None,
) -> bool:
    """Record the outcome of one send and move the alert on.

    Delivered when `outcome.ok`; otherwise pending again at `retry_at`, or failed when
    `retry_at` is None (permanent rejection, or out of attempts: `give_up_reason`).
    Returns False when the claim had been lost (the lease expired and the alert was
    requeued); the attempt is still recorded.
    """
    session.execute(
        update(DeliveryAttempt)
        .where(DeliveryAttempt.id == claim.attempt_id)
        .values(
            finished_at=now,
            ok=outcome.ok,
            http_status=outcome.http_status,
            provider_answer=_clip(outcome.provider_answer),
            provider_message_id=outcome.provider_message_id,
            error=_clip(outcome.error),
        )
    )
    still_ours = and_(
        Alert.id == claim.alert_id,
        Alert.status == AlertStatus.SENDING,
        Alert.claimed_by == claim.claimed_by,
    )
    if outcome.ok:
        values: dict[str, object] = {
            "status": AlertStatus.DELIVERED,
            "delivered_at": now,
            "provider_message_id": outcome.provider_message_id,
            "last_error": None,
        }
    elif retry_at is not None:
        values = {
            "status": AlertStatus.PENDING,
            "next_attempt_at": retry_at,
            "last_error": _clip(outcome.error),
        }
    else:
        error = outcome.error or "failed"
        values = {
            "status": AlertStatus.FAILED,
            "last_error": _clip(
                f"{give_up_reason}: {error}" if give_up_reason else error
            ),
        }
    result = session.execute(
        update(Alert)
        .where(still_ours)
        .values(lease_until=None, claimed_by=None, updated_at=now, **values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    if outcome.ok and claim.kind in (AlertKind.ALERT, AlertKind.ESCALATION):
        session.execute(
            update(Event)
            .where(Event.id == claim.event.id, Event.alerted_at.is_(None))
            .values(alerted_at=now)
        )
    return True


# --- reading for the API -----------------------------------------------------------


def _alert_view(a: Alert) -> AlertView:
    return AlertView(
        id=a.id,
        event_id=a.event_id,
        kind=a.kind,
        channel=a.channel,
        recipient=a.recipient,
        status=a.status,
        attempts=a.attempts,
        next_attempt_at=a.next_attempt_at,
        last_error=a.last_error,
        provider_message_id=a.provider_message_id,
        created_at=a.created_at,
        delivered_at=a.delivered_at,
        attempt_log=tuple(
            AttemptView(
                id=t.id,
                started_at=t.started_at,
                finished_at=t.finished_at,
                ok=t.ok,
                http_status=t.http_status,
                provider_answer=t.provider_answer,
                provider_message_id=t.provider_message_id,
                error=t.error,
            )
            for t in a.attempt_log
        ),
    )


def list_event_alerts(session: Session, event_id: int) -> list[AlertView]:
    """An event's alerts with every delivery attempt, oldest first."""
    get_event(session, event_id)
    rows = session.execute(
        select(Alert)
        .where(Alert.event_id == event_id)
        .options(selectinload(Alert.attempt_log))
        .order_by(Alert.created_at, Alert.kind, Alert.channel, Alert.recipient)
    ).scalars()
    return [_alert_view(a) for a in rows]


def list_alerts(
    session: Session,
    *,
    statuses: Sequence[AlertStatus] | None = None,
    channel: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AlertView]:
    """Alerts of every event, newest first, with their delivery attempts: what an
    integrator polls to see which messages are stuck or failed. Paged by offset: the
    alerts of one event share a creation time, so a time cursor would split them."""
    query = select(Alert).options(selectinload(Alert.attempt_log))
    if statuses:
        query = query.where(Alert.status.in_(list(statuses)))
    if channel is not None:
        query = query.where(Alert.channel == channel)
    if since is not None:
        query = query.where(Alert.created_at >= since)
    query = query.order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit).offset(offset)
    return [_alert_view(a) for a in session.execute(query).scalars()]


def alert_status_counts(session: Session) -> dict[AlertStatus, int]:
    """How many alerts are in each status (for health checks and tests)."""
    rows = session.execute(
        select(Alert.status, func.count()).group_by(Alert.status)
    ).all()
    return {status: int(n) for status, n in rows}


def next_due_at(session: Session) -> datetime | None:
    """When the earliest pending alert becomes due, None when nothing is pending."""
    return session.execute(
        select(func.min(Alert.next_attempt_at)).where(
            Alert.status == AlertStatus.PENDING
        )
    ).scalar_one_or_none()
