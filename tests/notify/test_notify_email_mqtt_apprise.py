"""E-mail to a real SMTP server, MQTT to a real mosquitto, Apprise to a local HTTP server."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from fallwatch.config.channels import AppriseChannel, EmailChannel, MqttChannel
from fallwatch.notify.apprise_urls import AppriseNotifier, with_timeouts
from fallwatch.notify.email import EmailNotifier
from fallwatch.notify.message import Message
from fallwatch.notify.mqtt import MqttNotifier, topic_slug
from fallwatch.notify.registry import build_notifier
from fallwatch.types import AlertKind
from tests.fakes.notify import JsonSink, SmtpInbox

JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


def message(**kw: Any) -> Message:
    fields: dict[str, Any] = {
        "alert_id": "feedfacecafebeef",
        "kind": AlertKind.ALERT,
        "channel": "ch",
        "recipient": "",
        "camera_id": "lobby/east",
        "location": "Lobby east",
        "event_id": 3,
        "event_kind": "found_down",
        "raised_at": datetime(2026, 3, 2, 9, 0, 40, tzinfo=UTC),
        "down_from_at": datetime(2026, 3, 2, 9, 0, 10, tzinfo=UTC),
        "fall_seen_at": None,
        "down_for_s": 30.0,
    }
    fields.update(kw)
    return Message(**fields)


# --- e-mail --------------------------------------------------------------------------


def email_notifier(inbox: SmtpInbox) -> EmailNotifier:
    cfg = EmailChannel(
        name="mail",
        host=inbox.host,
        port=inbox.port,
        security="none",
        from_addr="fallwatch@example.org",
    )
    return EmailNotifier(cfg)


def test_email_arrives_with_the_snapshot_attached(smtp_server: SmtpInbox, tmp_path: Path) -> None:
    snapshot = tmp_path / "snap.jpg"
    snapshot.write_bytes(JPEG)
    result = email_notifier(smtp_server).send(
        message(recipient="nurse@example.org", snapshot_path=snapshot)
    )
    assert result.ok and result.provider_message_id == "<feedfacecafebeef@fallwatch>"
    (mail_from, rcpt, raw) = smtp_server.mails[0]
    assert mail_from == "fallwatch@example.org" and rcpt == ["nurse@example.org"]
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail["Subject"] == "[Fallwatch] Person down: Lobby east (lobby/east)"
    assert mail["X-Fallwatch-Alert-Id"] == "feedfacecafebeef"
    assert mail["Message-ID"] == "<feedfacecafebeef@fallwatch>"
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None and "#feedfacecafebeef" in body.get_content()
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_content_type() == "image/jpeg"
    assert attachment.get_filename() == "lobby_east-event3.jpg"
    assert attachment.get_content() == JPEG


def test_email_without_snapshot_has_no_attachment(smtp_server: SmtpInbox) -> None:
    result = email_notifier(smtp_server).send(message(recipient="nurse@example.org"))
    assert result.ok
    mail = message_from_bytes(smtp_server.mails[0][2], policy=policy.default)
    assert list(mail.iter_attachments()) == []


def test_email_refused_mailbox_is_permanent(smtp_server: SmtpInbox) -> None:
    smtp_server.refuse.add("gone@example.org")
    result = email_notifier(smtp_server).send(message(recipient="gone@example.org"))
    assert not result.ok and result.permanent
    assert "550" in (result.answer or "") and smtp_server.mails == []


def test_email_server_down_is_retryable() -> None:
    from tests.fakes.notify import free_port

    cfg = EmailChannel(
        name="mail",
        host="127.0.0.1",
        port=free_port(),
        security="none",
        from_addr="a@b.org",
        timeout_s=1,
    )
    result = EmailNotifier(cfg).send(message(recipient="nurse@example.org"))
    assert not result.ok and not result.permanent
    assert "ConnectionRefused" in (result.error or "")


# --- MQTT ----------------------------------------------------------------------------


class Subscriber:
    """A paho client recording (topic, payload, retain) for everything under the topics."""

    def __init__(self, port: int, *topics: str) -> None:
        self.messages: list[tuple[str, str, bool]] = []
        self._subscribed = threading.Event()
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"test-sub-{time.monotonic_ns()}"
        )
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe([(t, 1) for t in topics])
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self._subscribed.wait(5), "subscriber did not subscribe"

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, msg.payload.decode(), bool(msg.retain)))

    def wait_for(self, n: int, timeout_s: float = 5.0) -> list[tuple[str, str, bool]]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= n:
                    return list(self.messages)
            time.sleep(0.02)
        return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_topic_slug_keeps_topics_single_level() -> None:
    assert topic_slug("lobby/east #2") == "lobby_east__2"
    assert topic_slug("ward-1_a") == "ward-1_a"


def test_mqtt_state_event_and_home_assistant_discovery(mosquitto: int) -> None:
    cfg = MqttChannel(name="mqtt", host="127.0.0.1", port=mosquitto, client_id="fallwatch-test")
    notifier = MqttNotifier(cfg)
    alert = notifier.send(message())
    assert alert.ok, alert.error
    resolved = notifier.send(message(kind=AlertKind.RESOLVED, alert_id="0000000000000002"))
    assert resolved.ok
    # A subscriber arriving now sees the retained messages: current state and discovery.
    late = Subscriber(mosquitto, "fallwatch/#", "homeassistant/#")
    retained = {t: (p, r) for t, p, r in late.wait_for(3)}
    late.close()
    notifier.close()

    discovery_topic = "homeassistant/binary_sensor/fallwatch_lobby_east/person_down/config"
    assert set(retained) == {
        discovery_topic,
        "fallwatch/lobby_east/person_down",
        "fallwatch/status",
    }
    assert retained["fallwatch/lobby_east/person_down"] == ("OFF", True)
    assert retained["fallwatch/status"] == ("online", True)
    config = json.loads(retained[discovery_topic][0])
    assert config["device_class"] == "safety"
    assert config["unique_id"] == "fallwatch_lobby_east_person_down"
    assert config["state_topic"] == "fallwatch/lobby_east/person_down"
    assert (config["payload_on"], config["payload_off"]) == ("ON", "OFF")
    assert config["availability_topic"] == "fallwatch/status"
    assert config["json_attributes_topic"] == "fallwatch/lobby_east/event"
    assert config["device"]["identifiers"] == ["fallwatch_lobby_east"]
    assert config["device"]["name"] == "Fallwatch Lobby east"


def test_mqtt_live_messages_in_order_and_offline_on_close(mosquitto: int) -> None:
    live = Subscriber(mosquitto, "fallwatch/#")
    cfg = MqttChannel(name="mqtt", host="127.0.0.1", port=mosquitto, discovery=False)
    notifier = MqttNotifier(cfg)
    assert notifier.send(message()).ok
    notifier.close()
    got = live.wait_for(4)
    live.close()
    topics = [(t, r) for t, _, r in got]
    assert topics == [
        ("fallwatch/status", False),
        ("fallwatch/lobby_east/person_down", False),
        ("fallwatch/lobby_east/event", False),
        ("fallwatch/status", False),
    ]  # retain is only set for late subscribers; live ones get retain=False
    assert got[1][1] == "ON" and got[0][1] == "online" and got[3][1] == "offline"
    event = json.loads(got[2][1])
    assert event["alert_id"] == "feedfacecafebeef" and event["camera_id"] == "lobby/east"
    assert event["event_kind"] == "found_down" and event["down_for_s"] == 30.0


def test_mqtt_broker_down_is_retryable() -> None:
    from tests.fakes.notify import free_port

    cfg = MqttChannel(name="mqtt", host="127.0.0.1", port=free_port(), timeout_s=1)
    notifier = MqttNotifier(cfg)
    result = notifier.send(message())
    notifier.close()
    assert not result.ok and not result.permanent
    assert "cannot connect" in (result.error or "")


# --- Apprise -------------------------------------------------------------------------


def apprise_notifier(
    sink: JsonSink, monkeypatch: pytest.MonkeyPatch, path: str = "/hook"
) -> AppriseNotifier:
    port = sink.url.rsplit(":", 1)[1]
    monkeypatch.setenv("FW_APPRISE_URL", f"json://127.0.0.1:{port}{path}")
    notifier = build_notifier(AppriseChannel(name="chat", url="${FW_APPRISE_URL}", timeout_s=2))  # type: ignore[arg-type]
    assert isinstance(notifier, AppriseNotifier)
    return notifier


def test_apprise_json_url_delivers_title_body_and_snapshot(
    json_sink: JsonSink, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    snapshot = tmp_path / "snap.jpg"
    snapshot.write_bytes(JPEG)
    result = apprise_notifier(json_sink, monkeypatch).send(message(snapshot_path=snapshot))
    assert result.ok, result.error
    (got,) = json_sink.accepted
    assert got["path"] == "/hook"
    assert got["title"] == "Person down: Lobby east (lobby/east)"
    assert got["message"].endswith("#feedfacecafebeef")
    assert got["type"] == "failure"
    assert len(got["attachments"]) == 1


@pytest.mark.parametrize(("status", "permanent"), [(500, False), (404, True)])
def test_apprise_failures_keep_the_reason(
    json_sink: JsonSink, monkeypatch: pytest.MonkeyPatch, status: int, permanent: bool
) -> None:
    json_sink.plan = [status]
    result = apprise_notifier(json_sink, monkeypatch).send(message())
    assert not result.ok
    assert result.permanent is permanent
    assert result.http_status == status
    assert f"error={status}" in (result.error or "")


def test_apprise_timeouts_are_added_unless_given() -> None:
    assert with_timeouts("json://h/p", 3) == "json://h/p?cto=3&rto=3"
    assert with_timeouts("json://h/p?rto=9", 3) == "json://h/p?rto=9&cto=3"
