"""Queueing alert rows (fallwatch.store.alerts)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from fallwatch.store.alerts import add_alerts
from fallwatch.store.models import Alert
from fallwatch.types import AlertKind, AlertStatus
from tests.fakes.store import T0, TARGETS, record


def test_one_alert_per_event_kind_channel_recipient(
    sessions: sessionmaker[Session],
) -> None:
    event_id = record(sessions)
    with sessions.begin() as session:
        again = add_alerts(session, event_id, AlertKind.ALERT, TARGETS, now=T0)
        other_kind = add_alerts(session, event_id, AlertKind.RESOLVED, TARGETS[:1], now=T0)
    assert again == []  # already queued: skipped
    assert len(other_kind) == 1
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(
            Alert(
                id="dup0000000000001",
                event_id=event_id,
                kind=AlertKind.ALERT,
                channel="sms",
                recipient="01011112222",
                status=AlertStatus.PENDING,
                attempts=0,
                next_attempt_at=T0,
                created_at=T0,
                updated_at=T0,
            )
        )
