"""What a notifier sends (`Message`) and what it reports back (`DeliveryResult`).

A message's content depends only on its alert, never on the attempt, so every retry of
one alert sends the same text and the same JSON body: with the alert id in it, a
receiver can drop a repeat by comparing ids (or bodies).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fallwatch.store.delivery import ClaimedAlert
from fallwatch.types import AlertKind

SCHEMA_VERSION = 1
"""Version of the JSON body (webhook, MQTT); bumped on incompatible changes."""


@dataclass(frozen=True)
class Message:
    """One alert rendered for one recipient on one channel."""

    alert_id: str
    """Random hex id: the idempotency key every channel carries."""
    kind: AlertKind
    channel: str
    recipient: str
    """Phone number or address; '' for channels with one destination."""
    camera_id: str
    location: str | None
    event_id: int | None
    event_kind: str
    """fallwatch.types.EventKind value ('fall', 'found_down'), or 'test'."""
    raised_at: datetime
    down_from_at: datetime | None
    fall_seen_at: datetime | None
    down_for_s: float | None
    """Seconds the person had been down when the event was raised."""
    attempt: int = 1
    dashboard_url: str | None = None
    snapshot_url: str | None = None
    snapshot_path: Path | None = None
    detail: str | None = None
    """Kind-specific text: the hourly-cap summary, who resolved the event."""
    timezone: str = "UTC"

    @property
    def place(self) -> str:
        return f"{self.location} ({self.camera_id})" if self.location else self.camera_id

    def _clock(self, t: datetime) -> str:
        return t.astimezone(ZoneInfo(self.timezone)).strftime("%H:%M:%S")

    def title(self) -> str:
        titles = {
            AlertKind.ALERT: f"Person down: {self.place}",
            AlertKind.ESCALATION: f"ESCALATION, not acknowledged: person down at {self.place}",
            AlertKind.RESOLVED: f"Resolved: {self.place}",
            AlertKind.SUMMARY: f"Alert limit reached: {self.place}",
            AlertKind.TEST: f"Test message from channel {self.channel}",
            AlertKind.FALLBACK: f"UNDELIVERED ALERT: person down at {self.place}",
        }
        return titles[self.kind]

    def text(self) -> str:
        """Short human text for SMS and chat; ends with the alert id for de-duplication."""
        since = ""
        if self.down_from_at is not None and self.kind in (
            AlertKind.ALERT,
            AlertKind.ESCALATION,
            AlertKind.FALLBACK,
        ):
            since = f" since {self._clock(self.down_from_at)}"
            if self.down_for_s is not None:
                since += f" ({self.down_for_s:.0f} s)"
        body = {
            AlertKind.ALERT: f"Fallwatch: person down at {self.place}{since}.",
            AlertKind.ESCALATION: (
                f"Fallwatch ESCALATION: person down at {self.place}{since}, not acknowledged."
            ),
            AlertKind.RESOLVED: f"Fallwatch: resolved at {self.place}"
            + (f" ({self.detail})." if self.detail else "."),
            AlertKind.SUMMARY: f"Fallwatch: {self.place}: {self.detail or 'alert limit reached'}.",
            AlertKind.TEST: f"Fallwatch test message, channel {self.channel}. No action needed.",
            AlertKind.FALLBACK: (
                f"Fallwatch: person down at {self.place}{since}; "
                f"{self.detail or 'the alert could not be delivered'}."
            ),
        }[self.kind]
        link = f" {self.dashboard_url}" if self.dashboard_url else ""
        return f"{body}{link} #{self.alert_id}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON body of webhooks and MQTT event messages (times ISO-8601 UTC)."""

        def iso(t: datetime | None) -> str | None:
            return None if t is None else t.isoformat()

        return {
            "version": SCHEMA_VERSION,
            "alert_id": self.alert_id,
            "kind": str(self.kind),
            "event_id": self.event_id,
            "event_kind": self.event_kind,
            "camera_id": self.camera_id,
            "location": self.location,
            "raised_at": iso(self.raised_at),
            "down_from_at": iso(self.down_from_at),
            "fall_seen_at": iso(self.fall_seen_at),
            "down_for_s": None if self.down_for_s is None else round(self.down_for_s, 1),
            "dashboard_url": self.dashboard_url,
            "snapshot_url": self.snapshot_url,
            "detail": self.detail,
            "title": self.title(),
            "text": self.text(),
        }


@dataclass(frozen=True)
class DeliveryResult:
    """What one `send` came back with. Error texts are already free of secrets."""

    ok: bool
    permanent: bool = False
    """The provider refused for good (bad number, bad credentials): retrying cannot help."""
    http_status: int | None = None
    provider_message_id: str | None = None
    answer: str | None = None
    """The provider's answer (response body, SMTP reply), shortened."""
    error: str | None = None

    def __post_init__(self) -> None:
        if self.ok and self.permanent:
            raise ValueError("a delivered result cannot be a permanent failure")


def build_message(
    claim: ClaimedAlert, *, dashboard_url: str | None = None, timezone: str = "UTC"
) -> Message:
    """Render a claimed alert; links point at `<dashboard_url>/events/<id>`."""
    event = claim.event
    base = dashboard_url.rstrip("/") if dashboard_url else None
    link = f"{base}/events/{event.id}" if base else None
    snapshot_url = f"{link}/snapshot.jpg" if link and event.snapshot_path else None
    detail = claim.detail
    if claim.kind is AlertKind.RESOLVED and detail is None and event.resolved_by:
        detail = f"by {event.resolved_by}"
    return Message(
        alert_id=claim.alert_id,
        kind=claim.kind,
        channel=claim.channel,
        recipient=claim.recipient,
        camera_id=event.camera_id,
        location=event.location,
        event_id=event.id,
        event_kind=event.kind,
        raised_at=event.created_at,
        down_from_at=event.down_from_at,
        fall_seen_at=event.fall_seen_at,
        down_for_s=(event.created_at - event.down_from_at).total_seconds(),
        attempt=claim.attempt,
        dashboard_url=link,
        snapshot_url=snapshot_url,
        snapshot_path=Path(event.snapshot_path) if event.snapshot_path else None,
        detail=detail,
        timezone=timezone,
    )


def test_message(channel: str, recipient: str, *, now: datetime, alert_id: str) -> Message:
    """A harmless message for `fallwatch notify test`."""
    return Message(
        alert_id=alert_id,
        kind=AlertKind.TEST,
        channel=channel,
        recipient=recipient,
        camera_id="test",
        location=None,
        event_id=None,
        event_kind="test",
        raised_at=now,
        down_from_at=None,
        fall_seen_at=None,
        down_for_s=None,
    )


test_message.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
