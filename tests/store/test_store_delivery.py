"""The dispatcher's side: claims, leases and delivery attempts (fallwatch.store.delivery)."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from fallwatch.store.alerts import alert_status_counts, list_event_alerts
from fallwatch.store.db import make_engine, session_factory
from fallwatch.store.delivery import (
    AttemptOutcome,
    claim_due_alerts,
    finish_attempt,
    requeue_expired,
)
from fallwatch.store.events import get_event, record_event, resolve_event
from fallwatch.store.models import Alert, DeliveryAttempt
from fallwatch.types import AlertKind, AlertStatus
from tests.fakes.store import T0, TARGETS, make_event, record


def test_claim_takes_due_pending_alerts_and_opens_an_attempt(
    sessions: sessionmaker[Session],
) -> None:
    record(sessions)
    with sessions.begin() as session:
        early = claim_due_alerts(
            session, now=T0 - timedelta(seconds=1), limit=10, lease_s=60, claimed_by="a"
        )
        claims = claim_due_alerts(session, now=T0, limit=2, lease_s=60, claimed_by="a")
    assert early == []
    assert len(claims) == 2
    assert all(c.attempt == 1 and c.lease_until == T0 + timedelta(seconds=60) for c in claims)
    with sessions() as session:
        statuses = alert_status_counts(session)
        attempt = session.get(DeliveryAttempt, claims[0].attempt_id)
    assert statuses == {AlertStatus.SENDING: 2, AlertStatus.PENDING: 1}
    assert attempt is not None and attempt.finished_at is None and attempt.claimed_by == "a"


def test_two_dispatchers_never_claim_the_same_alert(
    db_url: str, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        for i in range(20):
            record_event(session, make_event(track_id=i), targets=TARGETS, now=T0)
    claimed: dict[str, list[str]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def worker(name: str) -> None:
        # Separate engines: separate connections, as two processes would have.
        engine = make_engine(db_url)
        factory = session_factory(engine)
        start.wait()
        while True:
            with factory.begin() as session:
                got = claim_due_alerts(session, now=T0, limit=3, lease_s=60, claimed_by=name)
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
    record(sessions)
    with sessions.begin() as session:
        (claim,) = claim_due_alerts(session, now=T0, limit=1, lease_s=60, claimed_by="dead")
    with sessions.begin() as session:
        assert requeue_expired(session, now=T0 + timedelta(seconds=59)) == 0
        assert requeue_expired(session, now=T0 + timedelta(seconds=61)) == 1
    with sessions() as session:
        alert = session.get(Alert, claim.alert_id)
        attempt = session.get(DeliveryAttempt, claim.attempt_id)
    assert alert is not None and alert.status is AlertStatus.PENDING and alert.claimed_by is None
    assert attempt is not None and attempt.ok is False and "lease expired" in (attempt.error or "")
    # The dead dispatcher's late report no longer counts.
    with sessions.begin() as session:
        kept = finish_attempt(
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
    event_id = record(sessions)
    with sessions.begin() as session:
        c1, c2, c3 = claim_due_alerts(session, now=T0, limit=3, lease_s=60, claimed_by="w")
    t1 = T0 + timedelta(seconds=1)
    with sessions.begin() as session:
        ok = AttemptOutcome(
            ok=True,
            http_status=202,
            provider_answer='{"statusCode":"202"}',
            provider_message_id="R-1",
        )
        assert finish_attempt(session, c1, ok, now=t1, retry_at=None)
        bad = AttemptOutcome(ok=False, http_status=500, error="HTTP 500")
        assert finish_attempt(session, c2, bad, now=t1, retry_at=t1 + timedelta(seconds=4))
        refused = AttemptOutcome(
            ok=False, http_status=400, provider_answer="bad number", error="HTTP 400"
        )
        assert finish_attempt(
            session,
            c3,
            refused,
            now=t1,
            retry_at=None,
            give_up_reason="permanently rejected",
        )
    with sessions() as session:
        views = {v.id: v for v in list_event_alerts(session, event_id)}
        event = get_event(session, event_id)
    assert views[c1.alert_id].status is AlertStatus.DELIVERED
    assert views[c1.alert_id].provider_message_id == "R-1"
    assert views[c1.alert_id].attempt_log[0].http_status == 202
    assert views[c2.alert_id].status is AlertStatus.PENDING
    assert views[c2.alert_id].next_attempt_at == t1 + timedelta(seconds=4)
    assert views[c3.alert_id].status is AlertStatus.FAILED
    assert views[c3.alert_id].last_error == "permanently rejected: HTTP 400"
    assert views[c3.alert_id].attempt_log[0].provider_answer == "bad number"
    assert event.alerted_at == t1


def test_resolved_waits_for_the_alert_to_the_same_recipient(
    sessions: sessionmaker[Session],
) -> None:
    event_id = record(sessions)
    with sessions.begin() as session:
        resolve_event(session, event_id, by="system", now=T0, notify_channels=None)
        claims = claim_due_alerts(session, now=T0, limit=10, lease_s=60, claimed_by="w")
    assert {c.kind for c in claims} == {AlertKind.ALERT}
    with sessions.begin() as session:
        for c in claims:
            finish_attempt(session, c, AttemptOutcome(ok=True), now=T0, retry_at=None)
        later = claim_due_alerts(session, now=T0, limit=10, lease_s=60, claimed_by="w")
    assert sorted(c.kind for c in later) == [AlertKind.RESOLVED] * 3
