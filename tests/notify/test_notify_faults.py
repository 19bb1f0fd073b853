"""Fault tests: provider outages, timeouts, permanent refusals and SIGKILL mid-flight.

Each prints its figures (run with -s to see them) and asserts the guarantee:
every alert is accepted by the provider exactly once, except after a kill between the
provider's acceptance and our record of it, where the repeat carries the same
Idempotency-Key and the receiver can drop it.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from fallwatch.config.notify import NotifyConfig
from fallwatch.notify import Dispatcher, Outbox, build_notifiers
from fallwatch.notify.clock import utc_now
from fallwatch.store import alerts, delivery
from fallwatch.types import AlertStatus
from tests.fakes.notify import (
    SENS_SERVICE_ID,
    WEBHOOK_SECRET,
    FakeClock,
    SensServer,
    WebhookServer,
    make_event,
    webhook_config,
)

pytestmark = pytest.mark.usefixtures("secrets_env")

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The child runs as `-m tests.fakes.outbox_child`, so the repository root goes on its path."""


def figures(name: str, **values: Any) -> None:
    print(f"\n[notify-fault] {name}: " + ", ".join(f"{k}={v}" for k, v in values.items()))


def drain(dispatcher: Dispatcher, clock: FakeClock, max_passes: int = 200) -> int:
    """Run passes, moving the clock to the next due alert, until nothing is pending."""
    sessions = dispatcher._sessions
    for passes in range(1, max_passes + 1):
        dispatcher.run_once()
        with sessions() as session:
            due = delivery.next_due_at(session)
        if due is None:
            return passes
        clock.now = max(clock.now, due)
    raise AssertionError("outbox did not drain")


def both_channels(sens_url: str, hook_url: str, **retry: Any) -> NotifyConfig:
    return NotifyConfig.model_validate(
        {
            "channels": [
                {
                    "name": "hook",
                    "type": "webhook",
                    "url": f"{hook_url}/in",
                    "secret": "${FW_WEBHOOK_SECRET}",
                    "timeout_s": 0.3,
                },
                {
                    "name": "sms",
                    "type": "sens",
                    "base_url": sens_url,
                    "service_id": SENS_SERVICE_ID,
                    "access_key": "${FW_SENS_ACCESS}",
                    "secret_key": "${FW_SENS_SECRET}",
                    "from_number": "0212345678",
                    "timeout_s": 0.3,
                },
            ],
            "routes": [
                {
                    "notify": [
                        {"channel": "hook"},
                        {"channel": "sms", "to": ["01011112222"]},
                    ]
                }
            ],
            "retry": {"base_s": 1, "max_s": 16, "lease_s": 30, "workers": 4, **retry},
            "policy": {
                "cooldown_camera_s": 0,
                "cooldown_track_s": 0,
                "hourly_cap_per_camera": 0,
            },
        }
    )


@pytest.mark.parametrize("fault", ["http-500", "timeout"])
def test_outage_then_recovery_delivers_every_alert_exactly_once(
    fault: str,
    sessions: sessionmaker[Session],
    clock: FakeClock,
    sens_server: SensServer,
    webhook_server: WebhookServer,
) -> None:
    n_events = 10
    if fault == "http-500":
        outage = [500] * 20
    else:
        # Hangs past the 0.3 s client timeout, then answers 503: the gateway never
        # passed these on. Fewer of them: each costs real seconds.
        outage = ["stall"] * 4
        sens_server.stall_s = webhook_server.stall_s = 0.6
    sens_server.plan = list(outage)
    webhook_server.plan = list(outage)
    config = both_channels(sens_server.url, webhook_server.url)
    outbox = Outbox(sessions, config, clock=clock)
    for track in range(n_events):
        outbox.record(make_event(track_id=track))
    notifiers = build_notifiers(config)
    simulated_from = clock.now
    started = time.monotonic()
    with Dispatcher(sessions, notifiers, config, clock=clock, rng=random.Random(3)) as dispatcher:
        passes = drain(dispatcher, clock)
    wall_s = time.monotonic() - started
    for notifier in notifiers.values():
        notifier.close()
    with sessions() as session:
        counts = alerts.alert_status_counts(session)
        views = [v for e in range(1, n_events + 1) for v in alerts.list_event_alerts(session, e)]
    alert_ids = {v.id for v in views}
    accepted = webhook_server.accepted_ids() + sens_server.accepted_ids()
    figures(
        f"{fault} outage then recovery",
        alerts=len(alert_ids),
        requests_seen=len(webhook_server.received) + len(sens_server.received),
        fault_answers=2 * len(outage),
        accepted=sum(accepted.values()),
        unique_accepted=len(accepted),
        max_attempts=max(v.attempts for v in views),
        dispatcher_passes=passes,
        simulated_s=f"{(clock.now - simulated_from).total_seconds():.0f}",
        wall_s=f"{wall_s:.1f}",
    )
    assert sens_server.violations == [] and webhook_server.violations == []
    assert counts == {AlertStatus.DELIVERED: 2 * n_events}
    assert set(accepted) == alert_ids
    assert set(accepted.values()) == {1}  # exactly once each
    assert max(v.attempts for v in views) > 1  # the outage was really hit


def test_permanent_rejection_is_not_retried(
    sessions: sessionmaker[Session], clock: FakeClock, webhook_server: WebhookServer
) -> None:
    webhook_server.plan = [400] * 100
    config = webhook_config(webhook_server.url)
    outbox = Outbox(sessions, config, clock=clock)
    event_id = outbox.record(make_event())
    notifiers = build_notifiers(config)
    with Dispatcher(sessions, notifiers, config, clock=clock) as dispatcher:
        for _ in range(5):
            dispatcher.run_once()
            clock.advance(3600)
    notifiers["hook"].close()
    with sessions() as session:
        (alert,) = alerts.list_event_alerts(session, event_id)
    figures(
        "permanent 400",
        requests=len(webhook_server.received),
        status=alert.status,
        attempts=alert.attempts,
    )
    assert len(webhook_server.received) == 1
    assert alert.status is AlertStatus.FAILED and alert.attempts == 1
    assert alert.last_error == "permanently rejected: HTTP 400 Bad Request"
    (attempt,) = alert.attempt_log
    assert attempt.http_status == 400 and attempt.provider_answer == '{"error": "planned 400"}'


def run_child_until(db_url: str, hook_url: str, mode: str, n: int, marker: str) -> None:
    pythonpath = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "FW_WEBHOOK_SECRET": WEBHOOK_SECRET, "PYTHONPATH": pythonpath}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.outbox_child", db_url, hook_url, mode, str(n)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()  # blocks until the marker (or exit)
        assert line == marker, (
            f"child said {line!r}; stderr: {proc.stderr.read() if proc.stderr else ''}"
        )
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(
    ("mode", "marker", "expect_duplicates"),
    [("stored", "STORED", 0), ("claimed", "CLAIMED", 0), ("sent", "SENT", 3)],
)
def test_sigkill_mid_flight_then_restart(
    mode: str,
    marker: str,
    expect_duplicates: int,
    db_url: str,
    sessions: sessionmaker[Session],
    webhook_server: WebhookServer,
) -> None:
    n = 3
    run_child_until(db_url, webhook_server.url, mode, n, marker)
    raw_before_restart = len(webhook_server.received)
    config = webhook_config(webhook_server.url, retry={"lease_s": 30})
    with sessions() as session:
        left = alerts.alert_status_counts(session)

    # Restart. Leases taken by the dead process end 30 s after its claim: a clock 31 s
    # ahead stands in for waiting that long.
    def later():
        return utc_now() + timedelta(seconds=31)

    notifiers = build_notifiers(config)
    with Dispatcher(sessions, notifiers, config, clock=later) as dispatcher:
        stats = dispatcher.run_once()
    notifiers["hook"].close()
    with sessions() as session:
        counts = alerts.alert_status_counts(session)
        views = [v for e in range(1, n + 1) for v in alerts.list_event_alerts(session, e)]
    raw = Counter(str(a["alert_id"]) for a in webhook_server.accepted)
    duplicates = sum(raw.values()) - len(raw)
    figures(
        f"SIGKILL after {mode}",
        left_by_killed_process={str(k): v for k, v in left.items()},
        requests_before_restart=raw_before_restart,
        requeued_after_lease=stats.requeued,
        delivered_after_restart=stats.delivered,
        accepted_raw=sum(raw.values()),
        unique_by_idempotency_key=len(raw),
        duplicates=duplicates,
    )
    assert counts == {AlertStatus.DELIVERED: n}
    assert set(raw) == {v.id for v in views}  # every alert arrived
    assert duplicates == expect_duplicates
    if mode == "sent":
        # The only way to send twice: the repeat is the same alert, same key, same body.
        keys = Counter(r.headers["idempotency-key"] for r in webhook_server.received)
        assert set(keys.values()) == {2}
        bodies = Counter(r.body for r in webhook_server.received)
        assert set(bodies.values()) == {2}
    if mode != "stored":
        assert stats.requeued == n
        assert all("lease expired" in (v.attempt_log[0].error or "") for v in views)
