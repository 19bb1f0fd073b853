"""Start-up lease release and alerts that fail for good (fallback, metric, dashboard).

Real dispatcher threads, a real SQLite outbox and real HTTP receivers that fail on
command (`tests.fakes.notify`); the server tests run `FallwatchServer` itself.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from fallwatch.config.loader import parse_server_config
from fallwatch.config.notify import NotifyConfig
from fallwatch.notify import Dispatcher, Outbox, build_notifiers
from fallwatch.notify.clock import utc_now
from fallwatch.serve.app import FallwatchServer, dispatcher_id
from fallwatch.store import alerts, delivery
from fallwatch.store.delivery import ClaimedAlert
from fallwatch.types import AlertKind, AlertStatus
from fallwatch.web.app import create_app
from tests.fakes.notify import (
    WEBHOOK_SECRET,
    JsonSink,
    WebhookServer,
    make_event,
    webhook_config,
    webhook_config_data,
)
from tests.fakes.web import ENV, login

pytestmark = pytest.mark.usefixtures("secrets_env")


def wait_for(predicate: Callable[[], bool], timeout_s: float) -> float:
    """Seconds until `predicate` held; fails after `timeout_s`."""
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < timeout_s, "timed out"
        time.sleep(0.05)
    return time.monotonic() - started


def crashed_mid_send(sessions: sessionmaker[Session], claimed_by: str) -> None:
    """An alert claimed for 120 s by a dispatcher that then died (never finished it)."""
    with sessions.begin() as session:
        claims = delivery.claim_due_alerts(
            session, now=utc_now(), limit=10, lease_s=120, claimed_by=claimed_by
        )
    assert len(claims) == 1


def statuses(sessions: sessionmaker[Session]) -> dict[AlertStatus, int]:
    with sessions() as session:
        return alerts.alert_status_counts(session)


def test_a_restarted_dispatcher_sends_its_own_leftover_claim_at_once(
    sessions: sessionmaker[Session], webhook_server: WebhookServer
) -> None:
    config = webhook_config(webhook_server.url, retry={"lease_s": 120})
    Outbox(sessions, config).record(make_event())
    crashed_mid_send(sessions, "ward-server-1")
    notifiers = build_notifiers(config)
    with Dispatcher(sessions, notifiers, config, worker_id="ward-server-1") as dispatcher:
        dispatcher.start()
        took_s = wait_for(lambda: statuses(sessions) == {AlertStatus.DELIVERED: 1}, 10)
    notifiers["hook"].close()
    print(f"\n[leases] own claim left by a crash sent {took_s:.2f} s after restart (lease 120 s)")
    assert list(webhook_server.accepted_ids().values()) == [1]  # exactly once
    assert took_s < 5


def test_another_servers_claim_is_left_to_its_lease(
    sessions: sessionmaker[Session], webhook_server: WebhookServer
) -> None:
    config = webhook_config(webhook_server.url, retry={"lease_s": 120})
    Outbox(sessions, config).record(make_event())
    crashed_mid_send(sessions, "other-server")
    notifiers = build_notifiers(config)
    with Dispatcher(sessions, notifiers, config, worker_id="ward-server-1") as dispatcher:
        dispatcher.start()
        time.sleep(1.5)
    notifiers["hook"].close()
    assert statuses(sessions) == {AlertStatus.SENDING: 1} and webhook_server.received == []


def serve(tmp_path: Path, notify: dict[str, Any]) -> FallwatchServer:
    data = {"data_dir": str(tmp_path / "data"), "notify": notify}
    server = FallwatchServer(
        parse_server_config(data, env={"FW_WEBHOOK_SECRET": WEBHOOK_SECRET}), env=ENV
    )
    server.migrate()
    return server


def test_a_restarted_server_on_sqlite_sends_what_its_last_run_left_mid_send(
    tmp_path: Path, webhook_server: WebhookServer
) -> None:
    server = serve(tmp_path, webhook_config_data(webhook_server.url, retry={"lease_s": 120}))
    server.outbox.record(make_event())
    # The previous run had another random id; on SQLite this server is the only one.
    crashed_mid_send(server.sessions, "dispatcher-0badf00d")
    try:
        server.start(run_workers=False)
        took_s = wait_for(lambda: statuses(server.sessions) == {AlertStatus.DELIVERED: 1}, 10)
    finally:
        server.stop()
    print(f"\n[leases] server restart sent the crashed claim after {took_s:.2f} s")
    assert list(webhook_server.accepted_ids().values()) == [1]
    assert dispatcher_id(server.data_dir) == dispatcher_id(serve(tmp_path, {}).data_dir)


def two_channels(hook_url: str, backup_url: str, max_attempts: int) -> dict[str, Any]:
    data = webhook_config_data(
        hook_url,
        retry={"base_s": 0.05, "max_s": 0.1, "jitter": 0, "max_attempts": max_attempts},
    )
    data["channels"].append(
        {
            "name": "backup",
            "type": "webhook",
            "url": f"{backup_url}/backup",
            "secret": "${FW_WEBHOOK_SECRET}",
            "timeout_s": 0.5,
        }
    )
    data["routes"][0]["fallback_to"] = [{"channel": "backup"}]
    return data


def test_out_of_attempts_fails_and_queues_one_fallback(
    sessions: sessionmaker[Session], webhook_server: WebhookServer, json_sink: JsonSink
) -> None:
    webhook_server.plan = [500] * 50
    config = NotifyConfig.model_validate(two_channels(webhook_server.url, json_sink.url, 4))
    outbox = Outbox(sessions, config)
    outbox.record(make_event())
    failed: list[tuple[ClaimedAlert, str]] = []
    notifiers = build_notifiers(config)
    with Dispatcher(
        sessions, notifiers, config, on_failed=lambda c, why: failed.append((c, why))
    ) as dispatcher:
        dispatcher.start()
        wait_for(lambda: len(json_sink.accepted) >= 1, 15)
        time.sleep(0.3)
    for notifier in notifiers.values():
        notifier.close()
    with sessions() as session:
        views = alerts.list_event_alerts(session, 1)
    by_kind = {(v.kind, v.channel): v for v in views}
    alert = by_kind[(AlertKind.ALERT, "hook")]
    assert alert.status is AlertStatus.FAILED and alert.attempts == 4
    assert "gave up after 4 attempts" in (alert.last_error or "")
    assert len(webhook_server.received) == 4
    fallback = by_kind[(AlertKind.FALLBACK, "backup")]
    assert fallback.status is AlertStatus.DELIVERED
    assert [a["kind"] for a in json_sink.accepted] == ["fallback"]  # one, once
    assert [(c.alert_id, why) for c, why in failed] == [(alert.id, "gave up after 4 attempts")]


def test_a_failed_alert_is_counted_and_shown_on_the_dashboard(
    tmp_path: Path, webhook_server: WebhookServer, json_sink: JsonSink
) -> None:
    webhook_server.plan = [500] * 50
    server = serve(tmp_path, two_channels(webhook_server.url, json_sink.url, 3))
    try:
        server.start(run_workers=False)
        with TestClient(create_app(server), base_url="http://127.0.0.1") as client:
            login(client)
            assert "could not be delivered" not in client.get("/").text
            server.outbox.record(make_event())
            wait_for(lambda: len(json_sink.accepted) >= 1, 15)
            page = client.get("/").text
            metrics = client.get("/metrics").text
    finally:
        server.stop()
    assert 'id="alerts-failed"' in page and "1 alert could not be delivered" in page
    assert 'fallwatch_alerts_failed_total{channel="hook"} 1.0' in metrics
    assert Counter(a["kind"] for a in json_sink.accepted) == {"fallback": 1}
