"""Storing events with their alerts, acknowledging and resolving them (fallwatch.store.events)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fallwatch.store.alerts import AlertTarget, add_alerts, list_event_alerts
from fallwatch.store.delivery import claim_due_alerts
from fallwatch.store.errors import NotFound
from fallwatch.store.events import acknowledge_event, get_event, record_event, resolve_event
from fallwatch.store.models import Alert, DeliveryAttempt, Event
from fallwatch.types import AlertKind, AlertStatus, EventState
from tests.fakes.store import T0, TARGETS, make_event, record


def test_record_event_stores_event_and_one_alert_per_target(
    sessions: sessionmaker[Session],
) -> None:
    event_id = record(sessions)
    with sessions() as session:
        event = session.get(Event, event_id)
        assert event is not None
        alerts = session.execute(select(Alert).where(Alert.event_id == event_id)).scalars().all()
    # t_s 112, down 10 s, fall seen 1.5 s before: times relative to when it was raised.
    assert event.down_from_at == T0 - timedelta(seconds=10)
    assert event.fall_seen_at == T0 - timedelta(seconds=11.5)
    assert event.state is EventState.OPEN
    assert sorted((a.channel, a.recipient) for a in alerts) == sorted(
        (t.channel, t.recipient) for t in TARGETS
    )
    assert {a.status for a in alerts} == {AlertStatus.PENDING}
    assert all(len(a.id) == 16 for a in alerts) and len({a.id for a in alerts}) == 3


def test_event_and_alerts_commit_together_or_not_at_all(
    sessions: sessionmaker[Session],
) -> None:
    with pytest.raises(RuntimeError), sessions.begin() as session:
        record_event(session, make_event(), targets=TARGETS, now=T0)
        raise RuntimeError("crash before commit")
    with sessions() as session:
        assert session.query(Event).count() == 0
        assert session.query(Alert).count() == 0


def test_acknowledge_cancels_escalations_and_resolve_queues_followups(
    sessions: sessionmaker[Session],
) -> None:
    event_id = record(sessions)
    with sessions.begin() as session:
        add_alerts(
            session,
            event_id,
            AlertKind.ESCALATION,
            [AlertTarget("sms", "01099990000")],
            now=T0,
        )
        acknowledge_event(session, event_id, by="operator kim", now=T0 + timedelta(seconds=30))
        acknowledge_event(session, event_id, by="someone later", now=T0 + timedelta(seconds=40))
    with sessions() as session:
        event = get_event(session, event_id)
        escalation = [
            v for v in list_event_alerts(session, event_id) if v.kind is AlertKind.ESCALATION
        ]
    assert event.state is EventState.ACKNOWLEDGED
    assert event.acknowledged_by == "operator kim"  # the first acknowledgement stands
    assert escalation[0].status is AlertStatus.SUPPRESSED
    assert escalation[0].last_error == "acknowledged by operator kim"

    with sessions.begin() as session:
        resolve_event(
            session,
            event_id,
            by="operator kim",
            now=T0 + timedelta(seconds=60),
            notify_channels=["sms"],
        )
    with sessions() as session:
        resolved = [v for v in list_event_alerts(session, event_id) if v.kind is AlertKind.RESOLVED]
        assert get_event(session, event_id).state is EventState.RESOLVED
    # Only to those who were told "person down" on the channels that want follow-ups.
    assert sorted(v.recipient for v in resolved) == ["01011112222", "01033334444"]


def test_unknown_event_is_a_lookup_error(sessions: sessionmaker[Session]) -> None:
    with (
        sessions() as session,
        pytest.raises(NotFound, match="no event with id 99"),
    ):
        list_event_alerts(session, 99)


def test_deleting_an_event_deletes_its_alerts(sessions: sessionmaker[Session]) -> None:
    event_id = record(sessions)
    with sessions.begin() as session:
        claim_due_alerts(session, now=T0, limit=1, lease_s=60, claimed_by="w")
    with sessions.begin() as session:
        session.delete(session.get(Event, event_id))
    with sessions() as session:
        assert session.query(Alert).count() == 0
        assert session.query(DeliveryAttempt).count() == 0
