"""Alert rows (the outbox): queueing them, the policy and escalation queries, the alert log.

Functions take an open `Session` and never commit: the caller owns the transaction
(`with sessions.begin() as session: ...`). All times are aware UTC datetimes passed in
by the caller (an injectable clock), never read here. The dispatcher's side (claims,
leases, delivery attempts) is in `delivery`.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session, selectinload

from fallwatch.store.errors import NotFound
from fallwatch.store.models import Alert, Event
from fallwatch.types import AlertKind, AlertStatus, EventState


@dataclass(frozen=True)
class AlertTarget:
    """Where one alert goes: a configured channel and a recipient on it ('' when none)."""

    channel: str
    recipient: str = ""


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


# --- queueing and cancelling -------------------------------------------------------


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


def suppress_pending(
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


# --- policy and escalation queries -------------------------------------------------


def last_alert_at(session: Session, camera_id: str, track_id: int | None = None) -> datetime | None:
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


def events_due_for_escalation(session: Session, *, created_before: datetime) -> list[Event]:
    """Open events raised before `created_before` that alerted someone and were never escalated."""
    alerted = exists().where(
        Alert.event_id == Event.id,
        Alert.kind == AlertKind.ALERT,
        Alert.status != AlertStatus.SUPPRESSED,
    )
    escalated = exists().where(Alert.event_id == Event.id, Alert.kind == AlertKind.ESCALATION)
    query = (
        select(Event)
        .where(Event.state == EventState.OPEN, Event.created_at <= created_before)
        .where(alerted, ~escalated)
        .order_by(Event.id)
    )
    return list(session.execute(query).scalars())


# --- the alert log, for the API ----------------------------------------------------


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
    # Checked here rather than through `events.get_event`: `events` builds on this module.
    if session.get(Event, event_id) is None:
        raise NotFound(f"no event with id {event_id}")
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


def count_failed_since(session: Session, since: datetime) -> int:
    """Alerts that failed for good at or after `since` (the dashboard's warning)."""
    query = select(func.count()).where(
        Alert.status == AlertStatus.FAILED, Alert.updated_at >= since
    )
    return int(session.execute(query).scalar_one())


def alert_status_counts(session: Session) -> dict[AlertStatus, int]:
    """How many alerts are in each status (for health checks and tests)."""
    rows = session.execute(select(Alert.status, func.count()).group_by(Alert.status)).all()
    return {status: int(n) for status, n in rows}
