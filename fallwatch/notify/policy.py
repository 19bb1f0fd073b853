"""Alert policies: cooldowns, the hourly cap with one summary, escalation.

Decisions read the outbox itself (what was alerted, when), so they survive a restart and
hold across several recorder processes sharing one database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from fallwatch.config.notify import PolicyConfig
from fallwatch.notify.routing import Router
from fallwatch.store import alerts
from fallwatch.types import AlertKind, AlertStatus


@dataclass(frozen=True)
class Decision:
    """What to do with a new event's alerts."""

    status: AlertStatus
    """pending (send) or suppressed (record only)."""
    reason: str | None = None
    summary: str | None = None
    """Text of the one summary to send now (the hourly cap was just reached), else None."""


def hour_start(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


class AlertPolicy:
    """Decides whether a new event's alerts go out (`decide`)."""

    def __init__(self, config: PolicyConfig) -> None:
        self._config = config

    def decide(self, session: Session, camera_id: str, track_id: int, now: datetime) -> Decision:
        cfg = self._config
        if cfg.cooldown_track_s > 0:
            last = alerts.last_alert_at(session, camera_id, track_id)
            if last is not None and (now - last).total_seconds() < cfg.cooldown_track_s:
                ago = (now - last).total_seconds()
                return Decision(
                    AlertStatus.SUPPRESSED,
                    f"cooldown: person {track_id} on camera {camera_id} alerted {ago:.0f} s ago "
                    f"(cooldown_track_s={cfg.cooldown_track_s:g})",
                )
        if cfg.cooldown_camera_s > 0:
            last = alerts.last_alert_at(session, camera_id)
            if last is not None and (now - last).total_seconds() < cfg.cooldown_camera_s:
                ago = (now - last).total_seconds()
                return Decision(
                    AlertStatus.SUPPRESSED,
                    f"cooldown: camera {camera_id} alerted {ago:.0f} s ago "
                    f"(cooldown_camera_s={cfg.cooldown_camera_s:g})",
                )
        cap = cfg.hourly_cap_per_camera
        if cap > 0:
            since = hour_start(now)
            sent = alerts.count_alerted_events(session, camera_id, since)
            if sent >= cap:
                until = since + timedelta(hours=1)
                reason = f"hourly cap: camera {camera_id} sent {sent} alerts this hour (cap {cap})"
                summary = None
                if not alerts.has_alert_kind_since(session, camera_id, AlertKind.SUMMARY, since):
                    summary = (
                        f"{sent} alerts since {since:%H:%M} UTC, the hourly cap; further alerts "
                        f"from this camera are recorded but not sent until {until:%H:%M} UTC. "
                        "Check the camera"
                    )
                return Decision(AlertStatus.SUPPRESSED, reason, summary)
        return Decision(AlertStatus.PENDING)


class Escalator:
    """Queues escalation alerts for open events nobody acknowledged in time (`escalate`)."""

    def __init__(self, config: PolicyConfig, router: Router) -> None:
        self._config = config
        self._router = router

    def escalate(self, session: Session, now: datetime) -> int:
        after_s = self._config.escalate_after_s
        if after_s is None:
            return 0
        queued = 0
        due = alerts.events_due_for_escalation(
            session, created_before=now - timedelta(seconds=after_s)
        )
        for event in due:
            targets = self._router.escalation_targets(event.camera_id)
            if targets:
                queued += len(
                    alerts.add_alerts(session, event.id, AlertKind.ESCALATION, targets, now=now)
                )
        return queued
