"""Outbox and dispatcher: retries, give-ups, policies (cooldown, cap, escalation, resolved).

Time is a FakeClock moved by the tests; the provider is a real HTTP server checking the
webhook signature; the outbox is a real SQLite file.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from fallwatch.config.notify import NotifyConfig
from fallwatch.notify import Dispatcher, Outbox, build_notifiers
from fallwatch.store.alerts import AlertView, list_event_alerts
from fallwatch.store.events import get_event
from fallwatch.types import AlertKind, AlertStatus, EventKind, EventState
from tests.fakes.notify import FakeClock, WebhookServer, make_event, webhook_config

pytestmark = pytest.mark.usefixtures("secrets_env")


class Harness:
    """Outbox + dispatcher on one config and clock."""

    def __init__(
        self, sessions: sessionmaker[Session], config: NotifyConfig, clock: FakeClock
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.outbox = Outbox(sessions, config, clock=clock)
        self.notifiers = build_notifiers(config)
        self.dispatcher = Dispatcher(
            sessions, self.notifiers, config, clock=clock, rng=random.Random(7)
        )

    def alerts(self, event_id: int) -> list[AlertView]:
        with self.sessions() as session:
            return list_event_alerts(session, event_id)

    def event(self, event_id: int) -> Any:
        with self.sessions() as session:
            return get_event(session, event_id)

    def close(self) -> None:
        self.dispatcher.stop()
        for n in self.notifiers.values():
            n.close()


@pytest.fixture
def harness_for(
    sessions: sessionmaker[Session], clock: FakeClock, webhook_server: WebhookServer
) -> Any:
    made: list[Harness] = []

    def make(**sections: Any) -> Harness:
        h = Harness(sessions, webhook_config(webhook_server.url, **sections), clock)
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()


# --- retries -------------------------------------------------------------------------


def test_failed_send_is_retried_after_backoff_then_delivered(
    harness_for: Any, webhook_server: WebhookServer
) -> None:
    h = harness_for()
    webhook_server.plan = [500, 503]
    event_id = h.outbox.record(make_event())
    first = h.dispatcher.run_once()
    assert (first.claimed, first.retrying) == (1, 1)
    assert h.dispatcher.run_once().claimed == 0  # not due yet
    (alert,) = h.alerts(event_id)
    delay = (alert.next_attempt_at - h.clock.now).total_seconds()
    assert 0.5 <= delay <= 1.0  # base_s 1, jitter 0.5
    h.clock.advance(1.0)
    assert h.dispatcher.run_once().retrying == 1
    h.clock.advance(2.0)
    assert h.dispatcher.run_once().delivered == 1
    (alert,) = h.alerts(event_id)
    assert alert.status is AlertStatus.DELIVERED and alert.attempts == 3
    assert [a.http_status for a in alert.attempt_log] == [500, 503, 200]
    assert [a.ok for a in alert.attempt_log] == [False, False, True]
    assert h.event(event_id).alerted_at == h.clock.now
    assert webhook_server.accepted_ids() == Counter({alert.id: 1})


def test_out_of_attempts_fails_with_the_reason(
    harness_for: Any, webhook_server: WebhookServer
) -> None:
    h = harness_for(retry={"max_attempts": 3})
    webhook_server.plan = [500] * 10
    event_id = h.outbox.record(make_event())
    for _ in range(6):
        h.dispatcher.run_once()
        h.clock.advance(10)
    (alert,) = h.alerts(event_id)
    assert alert.status is AlertStatus.FAILED and alert.attempts == 3
    assert alert.last_error == "gave up after 3 attempts: HTTP 500 Internal Server Error"
    assert len(webhook_server.received) == 3


def test_too_old_fails_even_with_attempts_left(
    harness_for: Any, webhook_server: WebhookServer
) -> None:
    h = harness_for(retry={"max_age_s": 60})
    webhook_server.plan = [500] * 10
    event_id = h.outbox.record(make_event())
    h.dispatcher.run_once()
    h.clock.advance(61)
    h.dispatcher.run_once()
    (alert,) = h.alerts(event_id)
    assert alert.status is AlertStatus.FAILED and alert.attempts == 2
    assert (alert.last_error or "").startswith("gave up after 61 s")


def test_alert_for_a_removed_channel_fails_clearly(
    sessions: sessionmaker[Session], clock: FakeClock, webhook_server: WebhookServer
) -> None:
    config = webhook_config(webhook_server.url)
    event_id = Outbox(sessions, config, clock=clock).record(make_event())
    with Dispatcher(sessions, {}, config, clock=clock) as dispatcher:
        assert dispatcher.run_once().failed == 1
    with sessions() as session:
        (alert,) = list_event_alerts(session, event_id)
    assert alert.last_error == "permanently rejected: channel 'hook' is not configured"


def test_background_thread_sends_soon_after_record(
    sessions: sessionmaker[Session], webhook_server: WebhookServer
) -> None:
    config = webhook_config(webhook_server.url, retry={"poll_s": 30})
    notifiers = build_notifiers(config)
    dispatcher = Dispatcher(sessions, notifiers, config)
    outbox = Outbox(sessions, config, on_queued=dispatcher.wake)
    dispatcher.start()
    try:
        started = time.monotonic()
        outbox.record(make_event())
        while not webhook_server.accepted and time.monotonic() - started < 5:
            time.sleep(0.01)
        took_s = time.monotonic() - started
    finally:
        dispatcher.stop()
        notifiers["hook"].close()
    assert len(webhook_server.accepted) == 1
    assert took_s < 5  # woken by record(), not by the 30 s poll


def test_a_hanging_provider_does_not_delay_other_channels(
    sessions: sessionmaker[Session], webhook_server: WebhookServer
) -> None:
    slow = WebhookServer()
    slow.stall_s = 2.0
    slow.plan = ["stall"]
    hook = {"type": "webhook", "secret": "${FW_WEBHOOK_SECRET}", "timeout_s": 1.5}
    config = NotifyConfig.model_validate(
        {
            "channels": [
                {**hook, "name": "slow", "url": f"{slow.url}/in"},
                {**hook, "name": "fast", "url": f"{webhook_server.url}/in"},
            ],
            "routes": [
                {"cameras": ["stairs"], "notify": [{"channel": "slow"}]},
                {"cameras": ["lobby"], "notify": [{"channel": "fast"}]},
            ],
            "retry": {"poll_s": 30, "workers": 2, "lease_s": 10},
        }
    )
    notifiers = build_notifiers(config)
    dispatcher = Dispatcher(sessions, notifiers, config)
    outbox = Outbox(sessions, config, on_queued=dispatcher.wake)
    dispatcher.start()
    try:
        outbox.record(make_event(camera_id="stairs"))
        deadline = time.monotonic() + 5
        while not slow.received and time.monotonic() < deadline:
            time.sleep(0.01)
        recorded = time.monotonic()
        outbox.record(make_event(camera_id="lobby"))
        while not webhook_server.accepted and time.monotonic() < deadline:
            time.sleep(0.01)
        fast_s = time.monotonic() - recorded
        slow_still_hanging = len(slow.received) == 1 and not slow.accepted
    finally:
        dispatcher.stop()
        for n in notifiers.values():
            n.close()
        slow.close()
    print(
        f"\n[notify] lobby alert delivered {fast_s * 1000:.0f} ms after record, stairs provider hanging"
    )
    assert len(webhook_server.accepted) == 1
    assert slow_still_hanging
    assert fast_s < 1.0  # well inside the slow provider's 1.5 s timeout


# --- policies ------------------------------------------------------------------------


def statuses(h: Harness, event_id: int) -> list[AlertStatus]:
    return [a.status for a in h.alerts(event_id)]


def test_an_alarm_with_no_routes_stays_open_and_says_why(harness_for: Any) -> None:
    # Not "suppressed": nobody silenced it, there is just no one to send it to.
    h = harness_for(routes=[])
    event_id = h.outbox.record(make_event())
    event = h.event(event_id)
    assert event.state is EventState.OPEN and h.alerts(event_id) == []
    assert event.notes == "no notification routes configured"
    other = harness_for(routes=[{"cameras": ["ward-9"], "notify": [{"channel": "hook"}]}])
    event = other.event(other.outbox.record(make_event(camera_id="ward-1")))
    assert event.state is EventState.OPEN
    assert event.notes == "no notification route matches camera ward-1"


def test_cooldown_per_person(harness_for: Any) -> None:
    h = harness_for(policy={"cooldown_track_s": 300})
    first = h.outbox.record(make_event(track_id=1))
    h.clock.advance(120)
    again = h.outbox.record(make_event(track_id=1))
    other_person = h.outbox.record(make_event(track_id=2))
    h.clock.advance(181)
    later = h.outbox.record(make_event(track_id=1))
    assert statuses(h, first) == [AlertStatus.PENDING]
    assert statuses(h, again) == [AlertStatus.SUPPRESSED]
    assert h.alerts(again)[0].last_error == (
        "cooldown: person 1 on camera ward-1 alerted 120 s ago (cooldown_track_s=300)"
    )
    assert h.event(again).state is EventState.SUPPRESSED
    assert statuses(h, other_person) == [AlertStatus.PENDING]
    assert statuses(h, later) == [AlertStatus.PENDING]


def test_cooldown_per_camera(harness_for: Any) -> None:
    h = harness_for(policy={"cooldown_camera_s": 30})
    h.outbox.record(make_event(track_id=1))
    h.clock.advance(10)
    same_camera = h.outbox.record(make_event(track_id=2))
    other_camera = h.outbox.record(make_event(camera_id="ward-2", track_id=2))
    h.clock.advance(21)
    after = h.outbox.record(make_event(track_id=3))
    assert statuses(h, same_camera) == [AlertStatus.SUPPRESSED]
    assert statuses(h, other_camera) == [AlertStatus.PENDING]
    assert statuses(h, after) == [AlertStatus.PENDING]


def test_hourly_cap_sends_one_summary_then_suppresses(
    harness_for: Any, webhook_server: WebhookServer
) -> None:
    h = harness_for(policy={"hourly_cap_per_camera": 3})
    h.clock.now = h.clock.now.replace(minute=5)
    ids = []
    for track in range(6):
        ids.append(h.outbox.record(make_event(track_id=track)))
        h.clock.advance(60)
    h.dispatcher.run_once()
    kinds = Counter(b["kind"] for b in webhook_server.accepted)
    assert kinds == Counter({"alert": 3, "summary": 1})
    assert [statuses(h, i)[0] for i in ids] == [AlertStatus.DELIVERED] * 3 + [
        AlertStatus.SUPPRESSED
    ] * 3
    (summary,) = [b for b in webhook_server.accepted if b["kind"] == "summary"]
    assert summary["event_id"] == ids[3]
    assert (
        "3 alerts since 09:00 UTC" in summary["detail"] and "until 10:00 UTC" in summary["detail"]
    )
    assert (
        h.alerts(ids[4])[0].last_error
        == "hourly cap: camera ward-1 sent 3 alerts this hour (cap 3)"
    )
    # Another camera is not capped; the next hour starts afresh.
    assert statuses(h, h.outbox.record(make_event(camera_id="ward-2"))) == [AlertStatus.PENDING]
    h.clock.now = h.clock.now.replace(minute=0) + timedelta(hours=1)
    assert statuses(h, h.outbox.record(make_event(track_id=99))) == [AlertStatus.PENDING]


def escalation_config(after_s: float = 300, **policy: Any) -> dict[str, Any]:
    return {
        "channels": [
            {
                "name": "hook",
                "type": "webhook",
                "url": "URL/first",
                "secret": "${FW_WEBHOOK_SECRET}",
                "timeout_s": 0.5,
            },
            {
                "name": "boss",
                "type": "webhook",
                "url": "URL/boss",
                "secret": "${FW_WEBHOOK_SECRET}",
                "timeout_s": 0.5,
            },
        ],
        "routes": [{"notify": [{"channel": "hook"}], "escalate_to": [{"channel": "boss"}]}],
        "policy": {"escalate_after_s": after_s, **policy},
    }


def with_url(data: dict[str, Any], url: str) -> dict[str, Any]:
    for channel in data["channels"]:
        channel["url"] = channel["url"].replace("URL", url)
    return data


def test_escalation_after_n_minutes_without_acknowledgement(
    harness_for: Any, webhook_server: WebhookServer
) -> None:
    data = with_url(escalation_config(300), webhook_server.url)
    h = harness_for(channels=data["channels"], routes=data["routes"], policy=data["policy"])
    ignored = h.outbox.record(make_event(track_id=1))
    acked = h.outbox.record(make_event(track_id=2))
    h.dispatcher.run_once()
    h.clock.advance(100)
    h.outbox.acknowledge(acked, by="operator lee")
    h.clock.advance(199)  # 299 s after the events
    assert h.dispatcher.run_once().escalated == 0
    h.clock.advance(2)
    stats = h.dispatcher.run_once()
    assert (stats.escalated, stats.delivered) == (1, 1)
    assert h.dispatcher.run_once().escalated == 0  # once only
    boss = [r for r in webhook_server.received if r.path == "/boss"]
    assert len(boss) == 1
    assert webhook_server.accepted[-1]["kind"] == "escalation"
    assert webhook_server.accepted[-1]["event_id"] == ignored
    assert "not acknowledged" in webhook_server.accepted[-1]["text"]
    assert h.event(acked).acknowledged_by == "operator lee"


def test_person_up_again_is_recorded_and_the_event_stays_open(
    harness_for: Any, webhook_server: WebhookServer
) -> None:
    h = harness_for()
    event_id = h.outbox.record(make_event(track_id=4))
    h.dispatcher.run_once()
    h.clock.advance(40)
    up_at = h.clock.now
    assert h.outbox.record(make_event(track_id=4, kind=EventKind.RECOVERED)) == event_id
    h.clock.advance(5)
    assert h.outbox.record(make_event(track_id=4, kind=EventKind.RECOVERED)) == event_id
    h.dispatcher.run_once()
    assert [b["kind"] for b in webhook_server.accepted] == ["alert"]
    event = h.event(event_id)
    assert event.state is EventState.OPEN and event.resolved_at is None
    assert event.recovered_at == up_at  # the first time counts


def test_resolved_message_when_the_person_is_up_with_resolve_on_recovery(
    harness_for: Any, webhook_server: WebhookServer
) -> None:
    h = harness_for(policy={"resolve_on_recovery": True})
    event_id = h.outbox.record(make_event(track_id=4))
    h.dispatcher.run_once()
    h.clock.advance(40)
    assert h.outbox.record(make_event(track_id=4, kind=EventKind.RECOVERED)) == event_id
    assert h.outbox.record(make_event(track_id=5, kind=EventKind.RECOVERED)) is None
    h.dispatcher.run_once()
    assert [b["kind"] for b in webhook_server.accepted] == ["alert", "resolved"]
    resolved = webhook_server.accepted[1]
    assert resolved["event_id"] == event_id and resolved["detail"] == "by system: person up again"
    event = h.event(event_id)
    assert event.state is EventState.RESOLVED and event.resolved_at == h.clock.now


def test_operator_resolve_and_resolved_messages_switched_off(
    harness_for: Any, webhook_server: WebhookServer
) -> None:
    h = harness_for(policy={"send_resolved": False})
    event_id = h.outbox.record(make_event())
    h.dispatcher.run_once()
    h.outbox.resolve(event_id, by="operator park", note="false alarm: a mannequin")
    h.dispatcher.run_once()
    assert [b["kind"] for b in webhook_server.accepted] == ["alert"]
    event = h.event(event_id)
    assert (event.state, event.resolved_by, event.notes) == (
        EventState.RESOLVED,
        "operator park",
        "false alarm: a mannequin",
    )
    assert [a.kind for a in h.alerts(event_id)] == [AlertKind.ALERT]
