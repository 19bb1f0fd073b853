"""Notification config: channels, routes per camera or camera group, policies and retries.

Channels (`fallwatch.config.channels`) are a discriminated union on `type` (`sens`, `twilio`, `webhook`, `email`,
`mqtt`, `apprise`): a wrong type, a missing key or a bad URL fails at load with the field
named. Secrets are never written in the file: a secret field holds a `${ENV_VAR}`
reference, or the same key with `_file` appended holds the path of a file with the
secret (Docker and systemd credentials; `fallwatch.config.secrets`). They are `SecretStr`, so reprs and logs show
`**********`, and errors never echo what was typed (`hide_input_in_errors`).

Example (a top-level `notify:` key in a YAML file):

    notify:
      dashboard_url: https://fallwatch.example.org
      timezone: Asia/Seoul
      locale: ko
      templates:
        ko: {sms: "[{location}] {kind} {time} {link}"}
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
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, HttpUrl, field_validator, model_validator

from fallwatch.config.channels import ChannelBase, ChannelConfig
from fallwatch.config.messages import PLACEHOLDERS, MessageTemplates
from fallwatch.config.secrets import NotifySection
from fallwatch.i18n import LocaleName


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
    fallback_to: list[RouteTarget] = Field(
        default_factory=list,
        description="Told once per event when an alert or escalation to this route's "
        "contacts fails for good (refused, or out of retry.max_attempts or retry.max_age_s), "
        "e.g. a second SMS provider or the duty phone's e-mail.",
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
    resolve_on_recovery: bool = Field(
        False,
        description="Resolve an event by itself when the person is seen up again (sends "
        "the 'resolved' follow-ups). Off: the time is put on the event's timeline and the "
        "alarm stays open until someone acknowledges it.",
    )


class RetryConfig(NotifySection):
    base_s: float = Field(2.0, gt=0, le=3600, description="First retry delay in seconds.")
    max_s: float = Field(300.0, gt=0, le=86_400, description="Longest retry delay in seconds.")
    jitter: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of each delay drawn at random, so retries from many alerts do "
        "not hit a recovering provider at the same instant.",
    )
    max_attempts: int = Field(
        30,
        ge=1,
        le=1000,
        description="Attempts before an alert is marked failed (shown on the dashboard, "
        "counted in fallwatch_alerts_failed_total, sent to the route's fallback_to).",
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
    poll_s: float = Field(1.0, gt=0, le=60, description="Idle dispatcher check interval, seconds.")
    workers: int = Field(4, ge=1, le=64, description="Sends in parallel (threads).")
    batch: int = Field(32, ge=1, le=1000, description="Alerts claimed per dispatcher pass.")

    @model_validator(mode="after")
    def _order(self) -> RetryConfig:
        if self.max_s < self.base_s:
            raise ValueError(f"max_s ({self.max_s}) must be >= base_s ({self.base_s})")
        return self


class NotifyConfig(NotifySection):
    """The notify section: what to send where, and how hard to try."""

    channels: list[ChannelConfig] = Field(default_factory=list, description="Configured channels.")
    camera_groups: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Named lists of camera ids or globs, for routes.",
    )
    routes: list[RouteConfig] = Field(default_factory=list, description="Who hears about what.")
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
    timezone: str = Field("UTC", description="IANA time zone for times in message text.")
    locale: LocaleName = Field(
        "en",
        description="Language of alert texts (SMS, e-mail, chat, and the 'title' and 'text' "
        "of webhook and MQTT bodies): 'en' (English) or 'ko' (Korean).",
    )
    templates: dict[LocaleName, MessageTemplates] = Field(
        default_factory=dict,
        description="Site texts per language ('en', 'ko'), replacing the built-in ones: "
        "sms, email_subject, email_body. Placeholders: "
        + ", ".join("{" + k + "}" for k in PLACEHOLDERS)
        + " (fallwatch.config.messages).",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (IANA name like 'Asia/Seoul')") from None
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
            for part in ("notify", "escalate_to", "fallback_to"):
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
        raise ValueError(f"unknown channel {name!r}; configured: {[c.name for c in self.channels]}")

    def camera_patterns(self, route: RouteConfig) -> list[str]:
        patterns = list(route.cameras)
        for group in route.groups:
            patterns.extend(self.camera_groups[group])
        return patterns

    def route_matches(self, route: RouteConfig, camera_id: str) -> bool:
        return any(fnmatch.fnmatchcase(camera_id, p) for p in self.camera_patterns(route))


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
        raise ValueError(f"{where}.to: channel {channel.name!r} needs at least one {kind}")
    pattern = channel.recipient_pattern
    for k, recipient in enumerate(target.to):
        if pattern is not None and not pattern.match(recipient):
            raise ValueError(f"{where}.to[{k}]: {recipient!r} is not a {kind}")
