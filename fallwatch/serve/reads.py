"""What the web layer reads from the database: events, alerts, and whether it answers.

Each read runs in its own short transaction from the session factory; the rows returned
are plain dataclasses, safe to use after the session has closed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from fallwatch.store import alerts, events
from fallwatch.store.alerts import AlertView
from fallwatch.store.events import EventRow
from fallwatch.types import AlertStatus, EventState

OPEN_EVENTS_LIMIT = 100
"""At most this many open events on the dashboard's alarm list."""


class EventReader:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def list_events(
        self,
        *,
        states: Sequence[EventState] | None = None,
        camera_id: str | None = None,
        before_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        text: str | None = None,
        text_camera_ids: Collection[str] = (),
        limit: int = 50,
    ) -> list[EventRow]:
        """Events, newest first, as `store.events.list_events`."""
        with self.sessions.begin() as session:
            return events.list_events(
                session,
                states=states,
                camera_id=camera_id,
                before_id=before_id,
                since=since,
                until=until,
                text=text,
                text_camera_ids=text_camera_ids,
                limit=limit,
            )

    def read(self, event_id: int) -> EventRow:
        """One event; `NotFound` when there is none."""
        with self.sessions.begin() as session:
            return events.read_event(session, event_id)

    def open(self) -> list[EventRow]:
        """Events nobody has taken on yet (the dashboard's alarm list)."""
        return self.list_events(
            states=[EventState.OPEN, EventState.SUPPRESSED], limit=OPEN_EVENTS_LIMIT
        )


class AlertReader:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def counts(self) -> dict[str, int]:
        """Alerts per delivery status."""
        with self.sessions.begin() as session:
            return {k.value: v for k, v in alerts.alert_status_counts(session).items()}

    def failed_since(self, since: datetime) -> int:
        """Alerts marked failed at or after `since`."""
        with self.sessions.begin() as session:
            return alerts.count_failed_since(session, since)

    def of_event(self, event_id: int) -> list[AlertView]:
        """One event's alerts with every delivery attempt."""
        with self.sessions.begin() as session:
            return alerts.list_event_alerts(session, event_id)

    def list_alerts(
        self,
        *,
        statuses: list[AlertStatus] | None = None,
        channel: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AlertView]:
        """All events' alerts, newest first, as `store.alerts.list_alerts`."""
        with self.sessions.begin() as session:
            return alerts.list_alerts(
                session,
                statuses=statuses,
                channel=channel,
                since=since,
                limit=limit,
                offset=offset,
            )


class DatabaseProbe:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ok(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return True
        except SQLAlchemyError:
            return False
