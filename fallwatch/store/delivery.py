"""The dispatcher's side of the outbox: claiming due alerts, leases, delivery attempts.

Functions take an open `Session` and never commit: the caller owns the transaction.
All times are aware UTC datetimes passed in by the caller, never read here.

Claiming is a conditional `UPDATE ... WHERE status = 'pending'` checked by row count: it
is atomic on SQLite (one writer at a time) and on PostgreSQL (the row lock makes a second
dispatcher re-check the WHERE and find the row taken), so two dispatchers never send the
same alert, with no dialect-specific SQL.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, func, select, update
from sqlalchemy.orm import Session, selectinload

from fallwatch.store.models import Alert, DeliveryAttempt, Event
from fallwatch.types import AlertKind, AlertStatus, EventState

ERROR_TEXT_MAX = 2000
"""Characters of a provider's answer or an error kept per attempt."""


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
    """What came back from one send, as the store records it."""

    ok: bool
    http_status: int | None = None
    provider_answer: str | None = None
    provider_message_id: str | None = None
    error: str | None = None


def _clip(text: str | None) -> str | None:
    return None if text is None else text[:ERROR_TEXT_MAX]


def requeue_expired(session: Session, *, now: datetime) -> int:
    """Alerts left `sending` by a dispatcher that died go back to `pending` after their lease.

    Their open attempt is closed with an error saying so. If that dispatcher had already
    handed the message to the provider, this is the one way an alert is sent twice; the
    idempotency key (the alert id) lets receivers drop the repeat.
    """
    reason = "lease expired: the dispatcher stopped mid-send; outcome unknown, sending again"
    return _requeue(session, Alert.lease_until < now, now=now, reason=reason)


def release_leases(session: Session, *, now: datetime, claimed_by: str | None) -> int:
    """At a dispatcher's start: alerts its previous run left `sending` go back to `pending` now.

    `claimed_by` is that dispatcher's stable identity; None releases every lease, which
    is right only when no other dispatcher can be running on this database (SQLite).
    Without this a crash mid-send delays those alerts by the whole lease.
    """
    mine = Alert.claimed_by.is_not(None) if claimed_by is None else Alert.claimed_by == claimed_by
    reason = "released at start-up: this server stopped mid-send; outcome unknown, sending again"
    return _requeue(session, mine, now=now, reason=reason)


def _requeue(
    session: Session, condition: ColumnElement[bool], *, now: datetime, reason: str
) -> int:
    taken = list(
        session.execute(
            select(Alert.id).where(Alert.status == AlertStatus.SENDING, condition)
        ).scalars()
    )
    if not taken:
        return 0
    session.execute(
        update(DeliveryAttempt)
        .where(DeliveryAttempt.alert_id.in_(taken), DeliveryAttempt.finished_at.is_(None))
        .values(finished_at=now, ok=False, error=reason)
    )
    result = session.execute(
        update(Alert)
        .where(Alert.id.in_(taken), Alert.status == AlertStatus.SENDING, condition)
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
    candidates = list(session.execute(_due_alerts_query(), {"now": now, "limit": limit}).scalars())
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
        attempt = DeliveryAttempt(alert_id=alert_id, started_at=now, claimed_by=claimed_by)
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
            "last_error": _clip(f"{give_up_reason}: {error}" if give_up_reason else error),
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


def next_due_at(session: Session) -> datetime | None:
    """When the earliest pending alert becomes due, None when nothing is pending."""
    return session.execute(
        select(func.min(Alert.next_attempt_at)).where(Alert.status == AlertStatus.PENDING)
    ).scalar_one_or_none()
