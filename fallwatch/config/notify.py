"""Notification config: channels, routes per camera or camera group, policies and retries.

Channels are a discriminated union on `type` (`sens`, `twilio`, `webhook`, `email`,
`mqtt`, `apprise`): a wrong type, a missing key or a bad URL fails at load with the field
named. Secrets are never written in the file: a secret field holds a `${ENV_VAR}`
reference, or the same key with `_file` appended holds the path of a file with the
secret (Docker and systemd credentials). They are `SecretStr`, so reprs and logs show
`**********`, and errors never echo what was typed (`hide_input_in_errors`).

Example (a top-level `notify:` key in a YAML file):

    notify:
      dashboard_url: https://fallwatch.example.org
      timezone: Asia/Seoul
      channels:
        - {name: sms, type: sens, service_id: "ncp:sms:kr:123:fallwatch",
           access_key: "${NCP_ACCESS_KEY}", secret_key_file: /run/secrets/ncp_secret,
           from_number: "0212345678"}
      routes:
        - cameras: ["ward-*"]
          notify: [{channel: sms, to: ["01012345678"]}]
          escalate_to: [{channel: sms, to: ["01099998888"]}]
"""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    field_validator,
    model_validator,
)

from fallwatch.config.base import Section

_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def _secret_from_env(value: object) -> object:
    if isinstance(value, SecretStr):
        return value  # built in code (tests, a secrets manager): already wrapped
    if not isinstance(value, str):
        return value  # let SecretStr report the wrong type
    match = _ENV_REF.match(value.strip())
    if match is None:
        raise ValueError(
            "must be a ${ENV_VAR} reference, or give the path of a file holding it in the "
            "same key with _file appended; secrets are not written in config files"
        )
    name = match.group(1)
    resolved = os.environ.get(name, "")
    if not resolved:
        raise ValueError(f"environment variable {name} is not set (or is empty)")
    return SecretStr(resolved)


Secret = Annotated[SecretStr, BeforeValidator(_secret_from_env)]
"""A secret from `${ENV_VAR}` (or `<field>_file`, see `ChannelBase`), never a literal."""


class NotifySection(Section):
    # Errors name the field but never echo its input: the input may be a secret.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


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
    recipient_kind: ClassVar[str | None] = (
        "phone number (digits only, e.g. 01012345678)"
    )
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
    access_key: Secret = Field(
        description="NCP access key id (${ENV_VAR} or access_key_file)."
    )
    secret_key: Secret = Field(
        description="NCP secret key (${ENV_VAR} or secret_key_file)."
    )
    from_number: str = Field(
        pattern=r"^\d{6,16}$", description="Registered caller number, digits only."
    )
    country_code: str = Field(
        "82", pattern=r"^\d{1,4}$", description="Recipient country code."
    )
    message_type: Literal["auto", "SMS", "LMS"] = Field(
        "auto",
        description="SMS holds 80 bytes (EUC-KR); 'auto' sends LMS (2,000 bytes) when the "
        "text is longer instead of having it rejected.",
    )


class TwilioSmsChannel(ChannelBase):
    """Twilio Programmable Messaging."""

    type: Literal["twilio"] = "twilio"
    secret_fields: ClassVar[tuple[str, ...]] = ("auth_token",)
    recipient_kind: ClassVar[str | None] = "E.164 phone number (e.g. +821012345678)"
    recipient_pattern: ClassVar[re.Pattern[str] | None] = re.compile(
        r"^\+[1-9]\d{6,14}$"
    )

    base_url: HttpUrl = Field(
        HttpUrl("https://api.twilio.com"), description="Twilio API base URL."
    )
    account_sid: str = Field(
        pattern=r"^AC[0-9a-fA-F]{32}$",
        description="Account SID ('AC' and 32 hex digits).",
    )
    auth_token: Secret = Field(
        description="Auth token (${ENV_VAR} or auth_token_file)."
    )
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
    recipient_pattern: ClassVar[re.Pattern[str] | None] = re.compile(
        r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    )

    host: str = Field(min_length=1, description="SMTP server host name.")
    port: int = Field(
        587, ge=1, le=65535, description="SMTP port (587 STARTTLS, 465 SSL, 25 plain)."
    )
    security: Literal["starttls", "ssl", "none"] = Field(
        "starttls", description="'none' only for a relay on a trusted network."
    )
    username: str | None = Field(
        None, description="Login user; None sends without login."
    )
    password: Secret | None = Field(
        None, description="Login password (${ENV_VAR} or password_file)."
    )
    from_addr: str = Field(
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="Sender address (From)."
    )
    subject_prefix: str = Field(
        "[Fallwatch]", max_length=64, description="Start of every subject."
    )

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
    port: int = Field(
        1883, ge=1, le=65535, description="Broker port (1883 plain, 8883 TLS)."
    )
    tls: bool = Field(False, description="Connect with TLS (system CA bundle).")
    username: str | None = Field(
        None, description="Broker user; None connects anonymously."
    )
    password: Secret | None = Field(
        None, description="Broker password (${ENV_VAR} or password_file)."
    )
    client_id: str = Field(
        "fallwatch", min_length=1, max_length=64, description="MQTT client id."
    )
    topic_prefix: str = Field(
        "fallwatch",
        pattern=r"^[A-Za-z0-9_/-]+$",
        description="Topics are '<prefix>/<camera>/...'.",
    )
    qos: Literal[0, 1, 2] = Field(1, description="QoS of event and state messages.")
    discovery: bool = Field(
        True, description="Publish Home Assistant MQTT discovery configs."
    )
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


class RouteTarget(NotifySection):
    channel: str = Field(description="Name of a configured channel.")
    to: list[str] = Field(
        default_factory=list,
        description="Recipients on that channel (phone numbers, e-mail addresses); empty "
        "for webhook, MQTT and Apprise, which have one destination.",
    )


class RouteConfig(NotifySection):
    """Who hears about which cameras."""

    cameras: list[str] = Field(
        default_factory=lambda: ["*"],
        description="Camera ids or glob patterns ('ward-*'); default every camera.",
    )
    groups: list[str] = Field(
        default_factory=list,
        description="Names of camera_groups this route also covers.",
    )
    notify: list[RouteTarget] = Field(min_length=1, description="First contacts.")
    escalate_to: list[RouteTarget] = Field(
        default_factory=list,
        description="Second contacts, told when nobody acknowledges within "
        "policy.escalate_after_s.",
    )


class PolicyConfig(NotifySection):
    cooldown_camera_s: float = Field(
        60.0,
        ge=0,
        le=86_400,
        description="After an alert on a camera, later events on it within this many seconds "
        "are recorded but not sent (0: off).",
    )
    cooldown_track_s: float = Field(
        300.0,
        ge=0,
        le=86_400,
        description="Same, per tracked person: someone getting up and down again (0: off).",
    )
    hourly_cap_per_camera: int = Field(
        20,
        ge=0,
        le=10_000,
        description="Most alerted events per camera per clock hour (UTC); past it one summary "
        "is sent and the rest of the hour is suppressed (0: no cap).",
    )
    escalate_after_s: float | None = Field(
        300.0,
        gt=0,
        le=86_400,
        description="Escalate to escalate_to contacts when an open event is not acknowledged "
        "within this many seconds (None: never).",
    )
    send_resolved: bool = Field(
        True, description="Default for channels' send_resolved ('resolved' follow-ups)."
    )


class RetryConfig(NotifySection):
    base_s: float = Field(
        2.0, gt=0, le=3600, description="First retry delay in seconds."
    )
    max_s: float = Field(
        300.0, gt=0, le=86_400, description="Longest retry delay in seconds."
    )
    jitter: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of each delay drawn at random, so retries from many alerts do "
        "not hit a recovering provider at the same instant.",
    )
    max_attempts: int = Field(
        30, ge=1, le=1000, description="Attempts before an alert fails."
    )
    max_age_s: float = Field(
        6 * 3600.0,
        gt=0,
        le=7 * 86_400,
        description="An alert not delivered this many seconds after it was queued fails.",
    )
    lease_s: float = Field(
        120.0,
        gt=0,
        le=3600,
        description="A claimed alert left 'sending' this long (its dispatcher died) is sent "
        "again; must exceed twice every channel's timeout_s.",
    )
    poll_s: float = Field(
        1.0, gt=0, le=60, description="Idle dispatcher check interval, seconds."
    )
    workers: int = Field(4, ge=1, le=64, description="Sends in parallel (threads).")
    batch: int = Field(
        32, ge=1, le=1000, description="Alerts claimed per dispatcher pass."
    )

    @model_validator(mode="after")
    def _order(self) -> RetryConfig:
        if self.max_s < self.base_s:
            raise ValueError(f"max_s ({self.max_s}) must be >= base_s ({self.base_s})")
        return self


class NotifyConfig(NotifySection):
    """The notify section: what to send where, and how hard to try."""

    channels: list[ChannelConfig] = Field(
        default_factory=list, description="Configured channels."
    )
    camera_groups: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Named lists of camera ids or globs, for routes.",
    )
    routes: list[RouteConfig] = Field(
        default_factory=list, description="Who hears about what."
    )
    policy: PolicyConfig = Field(
        default_factory=lambda: PolicyConfig.model_validate({}),
        description="Cooldowns, hourly cap, escalation, resolved messages.",
    )
    retry: RetryConfig = Field(
        default_factory=lambda: RetryConfig.model_validate({}),
        description="Retries, leases and dispatcher pace.",
    )
    dashboard_url: HttpUrl | None = Field(
        None,
        description="Base URL of the Fallwatch web UI; messages link to "
        "<dashboard_url>/events/<id> and its snapshot.",
    )
    timezone: str = Field(
        "UTC", description="IANA time zone for times in message text."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {v!r} (IANA name like 'Asia/Seoul')"
            ) from None
        return v

    @model_validator(mode="after")
    def _references(self) -> NotifyConfig:
        names = [c.name for c in self.channels]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"channels: duplicate names {dupes}")
        by_name = {c.name: c for c in self.channels}
        for i, route in enumerate(self.routes):
            for group in route.groups:
                if group not in self.camera_groups:
                    raise ValueError(
                        f"routes[{i}].groups: unknown camera group {group!r}; "
                        f"known: {sorted(self.camera_groups)}"
                    )
            for part in ("notify", "escalate_to"):
                for j, target in enumerate(getattr(route, part)):
                    where = f"routes[{i}].{part}[{j}]"
                    channel = by_name.get(target.channel)
                    if channel is None:
                        raise ValueError(
                            f"{where}.channel: unknown channel {target.channel!r}; "
                            f"known: {sorted(by_name)}"
                        )
                    _check_recipients(channel, target, where)
        timeouts = [c.timeout_s for c in self.channels]
        if timeouts and self.retry.lease_s <= 2 * max(timeouts):
            raise ValueError(
                f"retry.lease_s ({self.retry.lease_s}) must exceed twice the longest channel "
                f"timeout_s ({max(timeouts)}), or a slow send would be taken for a dead one"
            )
        return self

    def channel(self, name: str) -> ChannelConfig:
        for c in self.channels:
            if c.name == name:
                return c
        raise ValueError(
            f"unknown channel {name!r}; configured: {[c.name for c in self.channels]}"
        )

    def camera_patterns(self, route: RouteConfig) -> list[str]:
        patterns = list(route.cameras)
        for group in route.groups:
            patterns.extend(self.camera_groups[group])
        return patterns

    def route_matches(self, route: RouteConfig, camera_id: str) -> bool:
        return any(
            fnmatch.fnmatchcase(camera_id, p) for p in self.camera_patterns(route)
        )


def _check_recipients(channel: ChannelBase, target: RouteTarget, where: str) -> None:
    kind = channel.recipient_kind
    if kind is None:
        if target.to:
            raise ValueError(
                f"{where}.to: channel {channel.name!r} ({channel.type}) sends to one "  # type: ignore[attr-defined]
                "destination and takes no recipients"
            )
        return
    if not target.to:
        raise ValueError(
            f"{where}.to: channel {channel.name!r} needs at least one {kind}"
        )
    pattern = channel.recipient_pattern
    for k, recipient in enumerate(target.to):
        if pattern is not None and not pattern.match(recipient):
            raise ValueError(f"{where}.to[{k}]: {recipient!r} is not a {kind}")


def load_notify_config(path: Path | str) -> NotifyConfig:
    """Read the `notify:` section of a YAML file. Raises ValueError or ValidationError."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")  # FileNotFoundError names the path
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or "notify" not in data:
        raise ValueError(f"{path}: expected a mapping with a top-level 'notify:' key")
    return NotifyConfig.model_validate(data["notify"] or {})
