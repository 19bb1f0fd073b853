"""MQTT (paho-mqtt 2.x): events, a retained person-down state, Home Assistant discovery.

Per camera (the id made topic-safe: anything but letters, digits, '_' and '-' becomes '_'):

- `<prefix>/<camera>/event`: the alert JSON (same body as the webhook), not retained.
- `<prefix>/<camera>/person_down`: `ON` on an alert or escalation, `OFF` when resolved,
  retained so a subscriber that connects later sees the current state.
- `<discovery_prefix>/binary_sensor/fallwatch_<camera>/person_down/config`: retained Home
  Assistant discovery config, so each camera appears as a "person down" binary sensor.
- `<prefix>/status`: `online`/`offline`, retained, `offline` also as the last will; the
  sensors' availability, so Home Assistant greys them out when Fallwatch is gone rather
  than showing a stale "safe".

device_class is `safety`: Home Assistant reads ON as "Unsafe" and OFF as "Safe", which is
what a person lying on the floor is. `occupancy` would read "Detected" / "Clear" and
suggest presence detection, which this is not.

One connection per channel, kept open (paho's network thread reconnects); sends wait for
the broker's PUBACK, so "delivered" means the broker has the message.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from fallwatch.config.channels import MqttChannel
from fallwatch.notify.base import Notifier
from fallwatch.notify.message import DeliveryResult, Message
from fallwatch.types import AlertKind

STATE_BY_KIND = {
    AlertKind.ALERT: "ON",
    AlertKind.ESCALATION: "ON",
    AlertKind.FALLBACK: "ON",
    AlertKind.RESOLVED: "OFF",
}


def topic_slug(camera_id: str) -> str:
    """A camera id safe in MQTT topics and Home Assistant ids ('/', '+', '#' would break them)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", camera_id) or "_"


class MqttNotifier(Notifier[MqttChannel]):
    def __init__(self, config: MqttChannel) -> None:
        super().__init__(config)
        self._lock = threading.Lock()
        self._client: mqtt.Client | None = None
        self._connected = threading.Event()
        self._connect_error: str | None = None
        self._announced: set[str] = set()
        """Cameras whose discovery config went out on the current connection."""

    # --- topics ----------------------------------------------------------------------

    @property
    def status_topic(self) -> str:
        return f"{self.config.topic_prefix}/status"

    def event_topic(self, camera_id: str) -> str:
        return f"{self.config.topic_prefix}/{topic_slug(camera_id)}/event"

    def state_topic(self, camera_id: str) -> str:
        return f"{self.config.topic_prefix}/{topic_slug(camera_id)}/person_down"

    def discovery_topic(self, camera_id: str) -> str:
        return (
            f"{self.config.discovery_prefix}/binary_sensor/fallwatch_{topic_slug(camera_id)}"
            "/person_down/config"
        )

    def discovery_config(self, camera_id: str, location: str | None) -> dict[str, Any]:
        slug = topic_slug(camera_id)
        label = location or camera_id
        return {
            "name": "Person down",
            "unique_id": f"fallwatch_{slug}_person_down",
            "device_class": "safety",
            "state_topic": self.state_topic(camera_id),
            "payload_on": "ON",
            "payload_off": "OFF",
            "availability_topic": self.status_topic,
            "payload_available": "online",
            "payload_not_available": "offline",
            "json_attributes_topic": self.event_topic(camera_id),
            "device": {
                "identifiers": [f"fallwatch_{slug}"],
                "name": f"Fallwatch {label}",
                "manufacturer": "Fallwatch",
                "model": "Fall detection camera",
            },
        }

    # --- connection ------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self._connect_error = f"broker refused the connection: {reason}"
            return
        self._connect_error = None
        self._announced.clear()  # a new session: announce again (cheap, and retained anyway)
        client.publish(self.status_topic, "online", qos=1, retain=True)
        self._connected.set()

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, _reason: Any, _p: Any) -> None:
        self._connected.clear()

    def _ensure_connected(self) -> str | None:
        """None when connected, else why not."""
        with self._lock:
            if self._client is None:
                cfg = self.config
                client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cfg.client_id)
                if cfg.username is not None:
                    password = cfg.password.get_secret_value() if cfg.password else None
                    client.username_pw_set(cfg.username, password)
                if cfg.tls:
                    client.tls_set()
                client.will_set(self.status_topic, "offline", qos=1, retain=True)
                client.on_connect = self._on_connect
                client.on_disconnect = self._on_disconnect
                client.reconnect_delay_set(min_delay=1, max_delay=30)
                try:
                    client.connect(cfg.host, cfg.port, keepalive=30)
                except OSError as exc:
                    return self.redact(f"cannot connect to {cfg.host}:{cfg.port}: {exc}")
                client.loop_start()
                self._client = client
        if not self._connected.wait(self.config.timeout_s):
            return self._connect_error or "not connected to the broker"
        return None

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is None:
            return
        if self._connected.is_set():
            # A clean disconnect does not fire the will: say offline ourselves.
            info = client.publish(self.status_topic, "offline", qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout=2.0)
        client.disconnect()
        client.loop_stop()
        self._connected.clear()

    # --- sending ---------------------------------------------------------------------

    def send(self, message: Message) -> DeliveryResult:
        error = self._ensure_connected()
        if error:
            return DeliveryResult(ok=False, error=error)
        client = self._client
        if client is None:
            return DeliveryResult(ok=False, error="closed")
        cfg = self.config
        camera = message.camera_id
        publishes: list[tuple[str, str, int, bool]] = []
        announce = cfg.discovery and message.kind is not AlertKind.TEST
        if announce and topic_slug(camera) not in self._announced:
            config = self.discovery_config(camera, message.location)
            publishes.append((self.discovery_topic(camera), json.dumps(config), 1, True))
        state = STATE_BY_KIND.get(message.kind)
        if state is not None:
            publishes.append((self.state_topic(camera), state, cfg.qos, True))
        body = json.dumps(message.to_dict(), ensure_ascii=False, separators=(",", ":"))
        publishes.append((self.event_topic(camera), body, cfg.qos, False))
        deadline = time.monotonic() + cfg.timeout_s
        last_mid = None
        try:
            for topic, payload, qos, retain in publishes:
                info = client.publish(topic, payload, qos=qos, retain=retain)
                info.wait_for_publish(timeout=max(0.01, deadline - time.monotonic()))
                if not info.is_published():
                    return DeliveryResult(
                        ok=False,
                        error=f"broker did not acknowledge {topic} within {cfg.timeout_s} s",
                    )
                last_mid = info.mid
        except (RuntimeError, ValueError) as exc:
            return DeliveryResult(ok=False, error=self.redact(f"publish failed: {exc}"))
        if announce:
            self._announced.add(topic_slug(camera))
        return DeliveryResult(ok=True, provider_message_id=f"mid:{last_mid}", answer="PUBACK")
