"""Notification channels: a discriminated union on `type` (`sens`, `twilio`, `webhook`,
`email`, `mqtt`, `apprise`), each with its own fields and secrets (see
`fallwatch.config.secrets`); routes name them in `fallwatch.config.notify`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, HttpUrl, SecretStr, model_validator

from fallwatch.config.secrets import NotifySection, Secret

_NAME = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class ChannelBase(NotifySection):
    """Fields every channel has. Subclasses list their secret fields in `secret_fields`."""

    secret_fields: ClassVar[tuple[str, ...]] = ()
    recipient_kind: ClassVar[str | None] = None
    """What a route's `to` entries are ('phone number', 'e-mail address'), None: no recipients."""
    recipient_pattern: ClassVar[re.Pattern[str] | None] = None

    name: str = Field(
        pattern=_NAME,
        description="Unique channel name that routes refer to, lower case, e.g. 'sms-ward'.",
    )
    timeout_s: float = Field(
        10.0,
        gt=0,
        le=120,
        description="Seconds one send may take before it counts as failed.",
    )
    send_resolved: bool | None = Field(
        None,
        description="Send a 'resolved' message when the person is up or an operator closes "
        "the event. None follows policy.send_resolved.",
    )

    @model_validator(mode="before")
    @classmethod
    def _read_secret_files(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for field in cls.secret_fields:
            key = f"{field}_file"
            if key not in data:
                continue
            if data.get(field) is not None:
                raise ValueError(f"give {field} or {key}, not both")
            path = Path(str(data.pop(key))).expanduser()
            try:
                text = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ValueError(f"{key}: cannot read {path}: {exc.strerror}") from None
            if not text:
                raise ValueError(f"{key}: {path} is empty")
            data[field] = SecretStr(text)
        return data

    def secret_values(self) -> list[str]:
        """The plain secret strings, for redacting them from errors (never log these)."""
        out = []
        for field in self.secret_fields:
            value = getattr(self, field)
            if isinstance(value, SecretStr):
                out.append(value.get_secret_value())
        return out

    def wants_resolved(self, default: bool) -> bool:
        return default if self.send_resolved is None else self.send_resolved


class SensSmsChannel(ChannelBase):
    """Naver Cloud SENS SMS API v2 (the channel Fallwatch started with)."""

    type: Literal["sens"] = "sens"
    secret_fields: ClassVar[tuple[str, ...]] = ("access_key", "secret_key")
    recipient_kind: ClassVar[str | None] = "phone number (digits only, e.g. 01012345678)"
    recipient_pattern: ClassVar[re.Pattern[str] | None] = re.compile(r"^\d{6,16}$")

    base_url: HttpUrl = Field(
        HttpUrl("https://sens.apigw.ntruss.com"),
        description="SENS API gateway base URL.",
    )
    service_id: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9:_.-]+$",
        description="SMS project service id, e.g. 'ncp:sms:kr:123456789012:fallwatch'.",
    )
    access_key: Secret = Field(description="NCP access key id (${ENV_VAR} or access_key_file).")
    secret_key: Secret = Field(description="NCP secret key (${ENV_VAR} or secret_key_file).")
    from_number: str = Field(
        pattern=r"^\d{6,16}$", description="Registered caller number, digits only."
    )
    country_code: str = Field("82", pattern=r"^\d{1,4}$", description="Recipient country code.")
    message_type: Literal["auto", "SMS", "LMS"] = Field(
        "auto",
        description="SMS holds 90 bytes in EUC-KR (2 per Hangul syllable, 1 per ASCII "
        "character); 'auto' sends LMS (2,000 bytes) when the text is longer, instead of "
        "having SENS cut it.",
    )


class TwilioSmsChannel(ChannelBase):
    """Twilio Programmable Messaging."""

    type: Literal["twilio"] = "twilio"
    secret_fields: ClassVar[tuple[str, ...]] = ("auth_token",)
    recipient_kind: ClassVar[str | None] = "E.164 phone number (e.g. +821012345678)"
    recipient_pattern: ClassVar[re.Pattern[str] | None] = re.compile(r"^\+[1-9]\d{6,14}$")

    base_url: HttpUrl = Field(HttpUrl("https://api.twilio.com"), description="Twilio API base URL.")
    account_sid: str = Field(
        pattern=r"^AC[0-9a-fA-F]{32}$",
        description="Account SID ('AC' and 32 hex digits).",
    )
    auth_token: Secret = Field(description="Auth token (${ENV_VAR} or auth_token_file).")
    from_number: str = Field(
        pattern=r"^\+[1-9]\d{6,14}$", description="Twilio number to send from, E.164."
    )


class WebhookChannel(ChannelBase):
    """POST a signed JSON body to a URL (ticketing, a nurse-call gateway, your own code)."""

    type: Literal["webhook"] = "webhook"
    secret_fields: ClassVar[tuple[str, ...]] = ("secret",)

    url: HttpUrl = Field(description="Receiver URL (http or https).")
    secret: Secret = Field(
        description="HMAC-SHA256 key for X-Fallwatch-Signature (${ENV_VAR} or secret_file)."
    )


class EmailChannel(ChannelBase):
    """E-mail over SMTP, with the snapshot attached."""

    type: Literal["email"] = "email"
    secret_fields: ClassVar[tuple[str, ...]] = ("password",)
    recipient_kind: ClassVar[str | None] = "e-mail address"
    recipient_pattern: ClassVar[re.Pattern[str] | None] = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

    host: str = Field(min_length=1, description="SMTP server host name.")
    port: int = Field(
        587, ge=1, le=65535, description="SMTP port (587 STARTTLS, 465 SSL, 25 plain)."
    )
    security: Literal["starttls", "ssl", "none"] = Field(
        "starttls", description="'none' only for a relay on a trusted network."
    )
    username: str | None = Field(None, description="Login user; None sends without login.")
    password: Secret | None = Field(
        None, description="Login password (${ENV_VAR} or password_file)."
    )
    from_addr: str = Field(
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="Sender address (From)."
    )
    subject_prefix: str = Field("[Fallwatch]", max_length=64, description="Start of every subject.")

    @model_validator(mode="after")
    def _login_pair(self) -> EmailChannel:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together: give both or neither")
        return self


class MqttChannel(ChannelBase):
    """MQTT events and a retained ON/OFF state per camera, with Home Assistant discovery."""

    type: Literal["mqtt"] = "mqtt"
    secret_fields: ClassVar[tuple[str, ...]] = ("password",)

    host: str = Field(min_length=1, description="Broker host name.")
    port: int = Field(1883, ge=1, le=65535, description="Broker port (1883 plain, 8883 TLS).")
    tls: bool = Field(False, description="Connect with TLS (system CA bundle).")
    username: str | None = Field(None, description="Broker user; None connects anonymously.")
    password: Secret | None = Field(
        None, description="Broker password (${ENV_VAR} or password_file)."
    )
    client_id: str = Field("fallwatch", min_length=1, max_length=64, description="MQTT client id.")
    topic_prefix: str = Field(
        "fallwatch",
        pattern=r"^[A-Za-z0-9_/-]+$",
        description="Topics are '<prefix>/<camera>/...'.",
    )
    qos: Literal[0, 1, 2] = Field(1, description="QoS of event and state messages.")
    discovery: bool = Field(True, description="Publish Home Assistant MQTT discovery configs.")
    discovery_prefix: str = Field(
        "homeassistant",
        pattern=r"^[A-Za-z0-9_/-]+$",
        description="Home Assistant discovery prefix.",
    )
    send_resolved: bool | None = Field(
        True,
        description="MQTT defaults to True: the retained person_down state must go back OFF.",
    )


class AppriseChannel(ChannelBase):
    """Any service Apprise knows (Telegram, Slack, Discord, ntfy, ...) from one URL."""

    type: Literal["apprise"] = "apprise"
    secret_fields: ClassVar[tuple[str, ...]] = ("url",)

    url: Secret = Field(
        description="Apprise URL, e.g. tgram://TOKEN/CHAT; it holds tokens, so ${ENV_VAR} "
        "or url_file."
    )


ChannelConfig = Annotated[
    SensSmsChannel
    | TwilioSmsChannel
    | WebhookChannel
    | EmailChannel
    | MqttChannel
    | AppriseChannel,
    Field(discriminator="type"),
]
