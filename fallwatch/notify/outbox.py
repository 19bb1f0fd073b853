"""The write side of the durable outbox: events in, alert rows out, one transaction each.

An alert is stored before anything is sent; the `Dispatcher` sends what is stored. So a
failed provider call, a crash or a restart never loses an alert: it stays `pending`
until delivered, failed for good, or suppressed on purpose.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from fallwatch.config.notify import NotifyConfig
from fallwatch.notify.clock import Clock, utc_now
from fallwatch.notify.policy import AlertPolicy
from fallwatch.notify.routing import Router
from fallwatch.store import alerts, events
from fallwatch.types import AlertKind, EventKind, FallEvent

log = logging.getLogger(__name__)


class Outbox:
    """Records classifier events (`record`) and operator actions for the dispatcher to send."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: NotifyConfig,
        *,
        clock: Clock = utc_now,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._config = config
        self._router = Router(config)
        self._policy = AlertPolicy(config.policy)
        self._clock = clock
        self._on_queued = on_queued
        """Called after a commit that queued alerts (the dispatcher's `wake`)."""

    def resolved_channels(self) -> list[str]:
        default = self._config.policy.send_resolved
        return [c.name for c in self._config.channels if c.wants_resolved(default)]

    def record(
        self,
        event: FallEvent,
        *,
        location: str | None = None,
        snapshot_path: Path | str | None = None,
        clip_path: Path | str | None = None,
    ) -> int | None:
        """Store an event with its alerts; returns the event id.

        A `recovered` event marks the person's latest open event as up again (and, with
        `policy.resolve_on_recovery`, resolves it and queues the "resolved" messages); it
        returns that event's id, or None when there is none.
        """
        now = self._clock()
        with self._sessions.begin() as session:
            if event.kind is EventKind.RECOVERED:
                row = events.find_open_event_for_track(session, event.camera_id, event.track_id)
                if row is None:
                    log.info(
                        "camera %s: person %d is up, no open event for them",
                        event.camera_id,
                        event.track_id,
                    )
                    return None
                events.mark_recovered(session, row.id, now=now)
                if self._config.policy.resolve_on_recovery:
                    events.resolve_event(
                        session,
                        row.id,
                        by="system: person up again",
                        now=now,
                        notify_channels=self.resolved_channels(),
                    )
                event_id = row.id
            else:
                targets = self._router.alert_targets(event.camera_id)
                decision = self._policy.decide(session, event.camera_id, event.track_id, now)
                reason = decision.reason
                if not targets:
                    reason = self._router.no_targets_reason(event.camera_id)
                    log.warning("camera %s: event recorded, but %s", event.camera_id, reason)
                row = events.record_event(
                    session,
                    event,
                    targets=targets,
                    now=now,
                    alert_status=decision.status,
                    reason=reason,
                    location=location,
                    snapshot_path=None if snapshot_path is None else str(snapshot_path),
                    clip_path=None if clip_path is None else str(clip_path),
                )
                if decision.summary is not None and targets:
                    alerts.add_alerts(
                        session,
                        row.id,
                        AlertKind.SUMMARY,
                        targets,
                        now=now,
                        detail=decision.summary,
                    )
                if decision.reason:
                    log.info(
                        "camera %s: event %d recorded, alerts suppressed: %s",
                        event.camera_id,
                        row.id,
                        decision.reason,
                    )
                event_id = row.id
        if self._on_queued is not None:
            self._on_queued()
        return event_id

    def acknowledge(self, event_id: int, *, by: str, note: str | None = None) -> None:
        with self._sessions.begin() as session:
            events.acknowledge_event(session, event_id, by=by, now=self._clock(), note=note)

    def resolve(self, event_id: int, *, by: str, note: str | None = None) -> None:
        with self._sessions.begin() as session:
            events.resolve_event(
                session,
                event_id,
                by=by,
                now=self._clock(),
                note=note,
                notify_channels=self.resolved_channels(),
            )
        if self._on_queued is not None:
            self._on_queued()
