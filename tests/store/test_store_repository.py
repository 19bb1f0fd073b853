from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from store_builders import T0, make_event  # type: ignore[import-not-found]

from fallwatch.store import repository as repo
from fallwatch.store.db import make_engine, session_factory
from fallwatch.store.models import (
    Alert,
    AlertKind,
    AlertStatus,
    DeliveryAttempt,
    Event,
    EventState,
)
from fallwatch.store.repository import AlertTarget, AttemptOutcome

TARGETS = [
    AlertTarget("sms", "01011112222"),
    AlertTarget("sms", "01033334444"),
    AlertTarget("hook"),
]


def _record(sessions: sessionmaker[Session], **kw: object) -> int:
    with sessions.begin() as session:
        row = repo.record_event(session, make_event(**kw), targets=TARGETS, now=T0)  # type: ignore[arg-type]
        return row.id


def test_record_event_stores_event_and_one_alert_per_target(
    sessions: sessionmaker[Session],
) -> None:
    event_id = _record(sessions)
    with sessions() as session:
        event = session.get(Event, event_id)
        assert event is not None
        alerts = (
            session.execute(select(Alert).where(Alert.event_id == event_id))
            .scalars()
            .all()
        )
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
        repo.record_event(session, make_event(), targets=TARGETS, now=T0)
        raise RuntimeError("crash before commit")
    with sessions() as session:
        assert session.query(Event).count() == 0
        assert session.query(Alert).count() == 0


def test_one_alert_per_event_kind_channel_recipient(
    sessions: sessionmaker[Session],
) -> None:
    event_id = _record(sessions)
    with sessions.begin() as session:
        again = repo.add_alerts(session, event_id, AlertKind.ALERT, TARGETS, now=T0)
        other_kind = repo.add_alerts(
            session, event_id, AlertKind.RESOLVED, TARGETS[:1], now=T0
        )
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


def test_claim_takes_due_pending_alerts_and_opens_an_attempt(
    sessions: sessionmaker[Session],
) -> None:
    _record(sessions)
    with sessions.begin() as session:
        early = repo.claim_due_alerts(
            session, now=T0 - timedelta(seconds=1), limit=10, lease_s=60, claimed_by="a"
        )
        claims = repo.claim_due_alerts(
            session, now=T0, limit=2, lease_s=60, claimed_by="a"
        )
    assert early == []
    assert len(claims) == 2
    assert all(
        c.attempt == 1 and c.lease_until == T0 + timedelta(seconds=60) for c in claims
    )
    with sessions() as session:
        statuses = repo.alert_status_counts(session)
        attempt = session.get(DeliveryAttempt, claims[0].attempt_id)
    assert statuses == {AlertStatus.SENDING: 2, AlertStatus.PENDING: 1}
    assert (
        attempt is not None
        and attempt.finished_at is None
        and attempt.claimed_by == "a"
    )


def test_two_dispatchers_never_claim_the_same_alert(
    db_url: str, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        for i in range(20):
            repo.record_event(session, make_event(track_id=i), targets=TARGETS, now=T0)
    claimed: dict[str, list[str]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def worker(name: str) -> None:
        # Separate engines: separate connections, as two processes would have.
        engine = make_engine(db_url)
        factory = session_factory(engine)
        start.wait()
        while True:
            with factory.begin() as session:
                got = repo.claim_due_alerts(
                    session, now=T0, limit=3, lease_s=60, claimed_by=name
                )
            if not got:
                break
            claimed[name].extend(c.alert_id for c in got)
        engine.dispose()

    threads = [threading.Thread(target=worker, args=(n,)) for n in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    a, b = set(claimed["a"]), set(claimed["b"])
    assert not a & b
    assert len(a | b) == 60
    assert len(claimed["a"]) + len(claimed["b"]) == 60


def test_expired_lease_goes_back_to_pending_and_closes_the_attempt(
    sessions: sessionmaker[Session],
) -> None:
    _record(sessions)
    with sessions.begin() as session:
        (claim,) = repo.claim_due_alerts(
            session, now=T0, limit=1, lease_s=60, claimed_by="dead"
        )
    with sessions.begin() as session:
        assert repo.requeue_expired(session, now=T0 + timedelta(seconds=59)) == 0
        assert repo.requeue_expired(session, now=T0 + timedelta(seconds=61)) == 1
    with sessions() as session:
        alert = session.get(Alert, claim.alert_id)
        attempt = session.get(DeliveryAttempt, claim.attempt_id)
    assert (
        alert is not None
        and alert.status is AlertStatus.PENDING
        and alert.claimed_by is None
    )
    assert (
        attempt is not None
        and attempt.ok is False
        and "lease expired" in (attempt.error or "")
    )
    # The dead dispatcher's late report no longer counts.
    with sessions.begin() as session:
        kept = repo.finish_attempt(
            session,
            claim,
            AttemptOutcome(ok=True),
            now=T0 + timedelta(seconds=62),
            retry_at=None,
        )
    assert kept is False
    with sessions() as session:
        assert session.get(Alert, claim.alert_id).status is AlertStatus.PENDING  # type: ignore[union-attr]


def test_finish_attempt_records_outcomes(sessions: sessionmaker[Session]) -> None:
    event_id = _record(sessions)
    with sessions.begin() as session:
        c1, c2, c3 = repo.claim_due_alerts(
            session, now=T0, limit=3, lease_s=60, claimed_by="w"
        )
    t1 = T0 + timedelta(seconds=1)
    with sessions.begin() as session:
        ok = AttemptOutcome(
            ok=True,
            http_status=202,
            provider_answer='{"statusCode":"202"}',
            provider_message_id="R-1",
        )
        assert repo.finish_attempt(session, c1, ok, now=t1, retry_at=None)
        bad = AttemptOutcome(ok=False, http_status=500, error="HTTP 500")
        assert repo.finish_attempt(
            session, c2, bad, now=t1, retry_at=t1 + timedelta(seconds=4)
        )
        refused = AttemptOutcome(
            ok=False, http_status=400, provider_answer="bad number", error="HTTP 400"
        )
        assert repo.finish_attempt(
            session,
            c3,
            refused,
            now=t1,
            retry_at=None,
            give_up_reason="permanently rejected",
        )
    with sessions() as session:
        views = {v.id: v for v in repo.list_event_alerts(session, event_id)}
        event = repo.get_event(session, event_id)
    assert views[c1.alert_id].status is AlertStatus.DELIVERED
    assert views[c1.alert_id].provider_message_id == "R-1"
    assert views[c1.alert_id].attempt_log[0].http_status == 202
    assert views[c2.alert_id].status is AlertStatus.PENDING
    assert views[c2.alert_id].next_attempt_at == t1 + timedelta(seconds=4)
    assert views[c3.alert_id].status is AlertStatus.FAILED
    assert views[c3.alert_id].last_error == "permanently rejected: HTTP 400"
    assert views[c3.alert_id].attempt_log[0].provider_answer == "bad number"
    assert event.alerted_at == t1


def test_acknowledge_cancels_escalations_and_resolve_queues_followups(
    sessions: sessionmaker[Session],
) -> None:
    event_id = _record(sessions)
    with sessions.begin() as session:
        repo.add_alerts(
            session,
            event_id,
            AlertKind.ESCALATION,
            [AlertTarget("sms", "01099990000")],
            now=T0,
        )
        repo.acknowledge_event(
            session, event_id, by="operator kim", now=T0 + timedelta(seconds=30)
        )
        repo.acknowledge_event(
            session, event_id, by="someone later", now=T0 + timedelta(seconds=40)
        )
    with sessions() as session:
        event = repo.get_event(session, event_id)
        escalation = [
            v
            for v in repo.list_event_alerts(session, event_id)
            if v.kind is AlertKind.ESCALATION
        ]
    assert event.state is EventState.ACKNOWLEDGED
    assert event.acknowledged_by == "operator kim"  # the first acknowledgement stands
    assert escalation[0].status is AlertStatus.SUPPRESSED
    assert escalation[0].last_error == "acknowledged by operator kim"

    with sessions.begin() as session:
        repo.resolve_event(
            session,
            event_id,
            by="operator kim",
            now=T0 + timedelta(seconds=60),
            notify_channels=["sms"],
        )
    with sessions() as session:
        resolved = [
            v
            for v in repo.list_event_alerts(session, event_id)
            if v.kind is AlertKind.RESOLVED
        ]
        assert repo.get_event(session, event_id).state is EventState.RESOLVED
    # Only to those who were told "person down" on the channels that want follow-ups.
    assert sorted(v.recipient for v in resolved) == ["01011112222", "01033334444"]


def test_resolved_waits_for_the_alert_to_the_same_recipient(
    sessions: sessionmaker[Session],
) -> None:
    event_id = _record(sessions)
    with sessions.begin() as session:
        repo.resolve_event(session, event_id, by="system", now=T0, notify_channels=None)
        claims = repo.claim_due_alerts(
            session, now=T0, limit=10, lease_s=60, claimed_by="w"
        )
    assert {c.kind for c in claims} == {AlertKind.ALERT}
    with sessions.begin() as session:
        for c in claims:
            repo.finish_attempt(
                session, c, AttemptOutcome(ok=True), now=T0, retry_at=None
            )
        later = repo.claim_due_alerts(
            session, now=T0, limit=10, lease_s=60, claimed_by="w"
        )
    assert sorted(c.kind for c in later) == [AlertKind.RESOLVED] * 3


def test_unknown_event_is_a_lookup_error(sessions: sessionmaker[Session]) -> None:
    with (
        sessions() as session,
        pytest.raises(repo.EventNotFound, match="no event with id 99"),
    ):
        repo.list_event_alerts(session, 99)


def test_deleting_an_event_deletes_its_alerts(sessions: sessionmaker[Session]) -> None:
    event_id = _record(sessions)
    with sessions.begin() as session:
        repo.claim_due_alerts(session, now=T0, limit=1, lease_s=60, claimed_by="w")
    with sessions.begin() as session:
        session.delete(session.get(Event, event_id))
    with sessions() as session:
        assert session.query(Alert).count() == 0
        assert session.query(DeliveryAttempt).count() == 0
