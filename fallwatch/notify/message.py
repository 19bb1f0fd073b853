"""What a notifier sends (`Message`) and what it reports back (`DeliveryResult`).

A message's content depends only on its alert, never on the attempt, so every retry of
one alert sends the same text and the same JSON body: with the alert id in it, a
receiver can drop a repeat by comparing ids (or bodies).
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fallwatch.config.messages import MessageTemplates
from fallwatch.i18n import translations
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
    locale: str = "en"
    """Language of the human text (title, text, e-mail body): 'en' or 'ko'."""
    templates: MessageTemplates | None = None
    """The site's texts for that language (notify.templates); None: the built-in ones."""

    @property
    def place(self) -> str:
        return f"{self.location} ({self.camera_id})" if self.location else self.camera_id

    def _clock(self, t: datetime) -> str:
        return t.astimezone(ZoneInfo(self.timezone)).strftime("%H:%M:%S")

    @property
    def _catalog(self) -> gettext.NullTranslations:
        return translations(self.locale)

    def email_subject(self) -> str:
        """The site's subject template, else `title()`."""
        if self.templates is not None and self.templates.email_subject:
            return self.templates.email_subject.format_map(self.fields())
        return self.title()

    def title(self) -> str:
        """One line naming what happened and where (chat and webhook titles)."""
        _ = self._catalog.gettext
        titles = {
            AlertKind.ALERT: _("Person down: {place}"),
            AlertKind.ESCALATION: _("ESCALATION, not acknowledged: person down at {place}"),
            AlertKind.RESOLVED: _("Resolved: {place}"),
            AlertKind.SUMMARY: _("Alert limit reached: {place}"),
            AlertKind.TEST: _("Test message from channel {channel}"),
            AlertKind.FALLBACK: _("UNDELIVERED ALERT: person down at {place}"),
        }
        return titles[self.kind].format(place=self.place, channel=self.channel)

    def kind_text(self) -> str:
        """What happened, in a few words of the message's language (the {kind} placeholder)."""
        _ = self._catalog.gettext
        return {
            AlertKind.ALERT: _("Person down"),
            AlertKind.ESCALATION: _("Person down, not acknowledged"),
            AlertKind.RESOLVED: _("Resolved"),
            AlertKind.SUMMARY: _("Alert limit reached"),
            AlertKind.TEST: _("Test message"),
            AlertKind.FALLBACK: _("Undelivered alert"),
        }[self.kind]

    def fields(self) -> dict[str, str]:
        """The values of the site templates' placeholders (config.messages.PLACEHOLDERS)."""
        at = self.down_from_at or self.raised_at
        return {
            "kind": self.kind_text(),
            "camera": self.camera_id,
            "location": self.location or "",
            "place": self.place,
            "time": self._clock(at),
            "down_for": "" if self.down_for_s is None else f"{self.down_for_s:.0f}",
            "link": self.dashboard_url or "",
            "detail": self.detail or "",
            "event_id": "" if self.event_id is None else str(self.event_id),
            "alert_id": self.alert_id,
            "channel": self.channel,
        }

    def text(self) -> str:
        """Short human text for SMS and chat; ends with the alert id for de-duplication."""
        template = self.templates.sms if self.templates is not None else None
        if template:
            text = template.format_map(self.fields()).strip()
            return text if "{alert_id}" in template else f"{text} #{self.alert_id}"
        link = f" {self.dashboard_url}" if self.dashboard_url else ""
        return f"{self._text()}{link} #{self.alert_id}"

    def _text(self) -> str:
        _ = self._catalog.gettext
        since = ""
        if self.down_from_at is not None and self.kind in (
            AlertKind.ALERT,
            AlertKind.ESCALATION,
            AlertKind.FALLBACK,
        ):
            clock = self._clock(self.down_from_at)
            if self.down_for_s is not None:
                since = _(" since {clock} ({seconds} s)").format(
                    clock=clock, seconds=f"{self.down_for_s:.0f}"
                )
            else:
                since = _(" since {clock}").format(clock=clock)
        if self.kind is AlertKind.RESOLVED:
            body = (
                _("Fallwatch: resolved at {place} ({detail}).")
                if self.detail
                else _("Fallwatch: resolved at {place}.")
            )
        else:
            body = {
                AlertKind.ALERT: _("Fallwatch: person down at {place}{since}."),
                AlertKind.ESCALATION: _(
                    "Fallwatch ESCALATION: person down at {place}{since}, not acknowledged."
                ),
                AlertKind.SUMMARY: _("Fallwatch: {place}: {detail}."),
                AlertKind.TEST: _("Fallwatch test message, channel {channel}. No action needed."),
                AlertKind.FALLBACK: _("Fallwatch: person down at {place}{since}; {detail}."),
            }[self.kind]
        detail = self.detail
        if detail is None and self.kind is AlertKind.SUMMARY:
            detail = _("alert limit reached")
        elif detail is None and self.kind is AlertKind.FALLBACK:
            detail = _("the alert could not be delivered")
        return body.format(place=self.place, since=since, detail=detail, channel=self.channel)

    def email_body(self) -> str:
        """Plain-text e-mail body: the site's template, else the text and the facts."""
        if self.templates is not None and self.templates.email_body:
            return self.templates.email_body.format_map(self.fields())
        _ = self._catalog.gettext
        lines = [self.text(), ""]
        if self.down_from_at is not None:
            lines.append(_("Down since: {time}").format(time=self.down_from_at.isoformat()))
        if self.dashboard_url:
            lines.append(_("Open: {link}").format(link=self.dashboard_url))
        lines.append(_("Alert id: {alert_id}").format(alert_id=self.alert_id))
        return "\n".join(lines)

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
    claim: ClaimedAlert,
    *,
    dashboard_url: str | None = None,
    timezone: str = "UTC",
    locale: str = "en",
    templates: MessageTemplates | None = None,
) -> Message:
    """Render a claimed alert; links point at `<dashboard_url>/events/<id>`."""
    event = claim.event
    base = dashboard_url.rstrip("/") if dashboard_url else None
    link = f"{base}/events/{event.id}" if base else None
    snapshot_url = f"{link}/snapshot.jpg" if link and event.snapshot_path else None
    detail = claim.detail
    if claim.kind is AlertKind.RESOLVED and detail is None and event.resolved_by:
        detail = translations(locale).gettext("by {name}").format(name=event.resolved_by)
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
        locale=locale,
        templates=templates,
    )


def test_message(
    channel: str,
    recipient: str,
    *,
    now: datetime,
    alert_id: str,
    timezone: str = "UTC",
    locale: str = "en",
    templates: MessageTemplates | None = None,
) -> Message:
    """A harmless message for `fallwatch notify test` (in the site's language and texts)."""
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
        timezone=timezone,
        locale=locale,
        templates=templates,
    )


test_message.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
