"""Alert texts a site writes itself: the SMS/chat text and the e-mail subject and body,
per language, with named placeholders (`notify.templates`).

Example:

    notify:
      locale: ko
      templates:
        ko:
          sms: "[{location}] {kind} {time} {link}"
          email_subject: "[Fallwatch] {kind}: {place}"

A placeholder not in `PLACEHOLDERS`, or a stray brace, fails at load with the field and
the known names, rather than at 3 a.m. when the first alert is rendered.
"""

from __future__ import annotations

import string

from pydantic import Field, field_validator

from fallwatch.config.secrets import NotifySection

PLACEHOLDERS: dict[str, str] = {
    "kind": "what happened, in the notify locale ('Person down', 'Resolved', ...)",
    "camera": "the camera's id",
    "location": "the camera's location ('' when it has none)",
    "place": "'location (camera)', or the camera id when there is no location",
    "time": "when the person went down (else when the alert was raised), HH:MM:SS in "
    "notify.timezone",
    "down_for": "seconds the person had been down when the alert was raised ('' if unknown)",
    "link": "the event's page under notify.dashboard_url ('' when not set)",
    "detail": "kind-specific text: who resolved the event, the hourly-cap summary ('' if none)",
    "event_id": "the event's number ('' for a test message)",
    "alert_id": "the alert's id (receivers drop repeats by it)",
    "channel": "the channel's name",
}
"""Names a template may use, each with what it is filled with."""

_KNOWN = ", ".join("{" + name + "}" for name in PLACEHOLDERS)


def check_template(text: str) -> str:
    """`text` when every placeholder in it is known; else ValueError naming the first bad one."""
    try:
        parts = [(f, spec) for _, f, spec, _ in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        raise ValueError(f"{exc} (write a literal brace as {{{{ or }}}})") from None
    for field, spec in parts:
        if field not in PLACEHOLDERS:
            raise ValueError(f"unknown placeholder {{{field}}}; known: {_KNOWN}")
        if spec and "{" in spec:
            raise ValueError(f"placeholder {{{field}}}: no placeholders inside a format spec")
    return text


class MessageTemplates(NotifySection):
    """One language's site texts; a text left out is the built-in one, translated."""

    sms: str | None = Field(
        None,
        min_length=1,
        max_length=2000,
        description="Short text for SMS and chat (SENS, Twilio, Apprise, and the 'text' of "
        "webhook and MQTT bodies), with placeholders such as {kind}, {place}, {time}, "
        "{link}. ' #<alert id>' is added unless the text has {alert_id}. Korean SMS: up to "
        "90 bytes in EUC-KR (2 per Hangul syllable) goes as one SMS, longer as LMS.",
    )
    email_subject: str | None = Field(
        None,
        min_length=1,
        max_length=500,
        description="E-mail subject (after the channel's subject_prefix), with placeholders.",
    )
    email_body: str | None = Field(
        None,
        min_length=1,
        max_length=20_000,
        description="E-mail body (plain text), with placeholders.",
    )

    @field_validator("sms", "email_subject", "email_body")
    @classmethod
    def _placeholders(cls, v: str | None) -> str | None:
        return None if v is None else check_template(v)
