"""Database models: one declarative `Base` for the whole store.

Three tables so far: `events` (what the control room must hear about), `alerts` (the
outbox: one row per event, message kind, channel and recipient) and `delivery_attempts`
(every try at sending an alert and what the provider answered). Later sections (cameras,
users) add their models here, on the same `Base`, and a new Alembic revision.

Times are stored as naive UTC (`UtcDateTime`): the same SQL works on SQLite, which has
no time zones, and on PostgreSQL. Python code only ever sees aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Named constraints so Alembic migrations can alter and drop them on every backend
# (SQLite batch mode needs names to find them again).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, naive UTC in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            # A naive time is ambiguous (local? UTC?); refusing it catches the bug early.
            raise ValueError(
                f"datetime must be timezone-aware, got naive {value.isoformat()}"
            )
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _enum(cls: type[StrEnum]) -> Enum:
    # Stored as plain strings (VARCHAR) with the enum values, not a native PostgreSQL
    # ENUM: adding a value later is then a code change, not a type migration.
    return Enum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=16,
        values_callable=lambda e: [m.value for m in e],
    )


class EventState(StrEnum):
    OPEN = "open"
    """Alerts queued or sent; nobody has acknowledged it yet."""
    ACKNOWLEDGED = "acknowledged"
    """An operator has taken it on; no escalation."""
    RESOLVED = "resolved"
    """The person is up again, or an operator closed it."""
    SUPPRESSED = "suppressed"
    """Recorded, but every alert was held back by a policy (cooldown, hourly cap)."""


class AlertStatus(StrEnum):
    PENDING = "pending"
    """Waiting to be sent at `next_attempt_at` (first try or a retry)."""
    SENDING = "sending"
    """Claimed by a dispatcher until `lease_until`."""
    DELIVERED = "delivered"
    """The provider accepted it."""
    FAILED = "failed"
    """Permanently rejected, or out of attempts; `last_error` says why."""
    SUPPRESSED = "suppressed"
    """Not sent on purpose (policy, or the event was closed first); `last_error` says why."""


class AlertKind(StrEnum):
    ALERT = "alert"
    ESCALATION = "escalation"
    RESOLVED = "resolved"
    SUMMARY = "summary"
    TEST = "test"


class Event(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(128), index=True)
    track_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16), doc="fallwatch.types.EventKind value")
    fall_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    down_from_at: Mapped[datetime] = mapped_column(UtcDateTime)
    alerted_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, doc="When the first alert for it was delivered."
    )
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[EventState] = mapped_column(
        _enum(EventState), default=EventState.OPEN
    )
    notes: Mapped[str | None] = mapped_column(Text)
    snapshot_path: Mapped[str | None] = mapped_column(String(1024))
    clip_path: Mapped[str | None] = mapped_column(String(1024))
    location: Mapped[str | None] = mapped_column(String(256))
    down_score: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)

    alerts: Mapped[list[Alert]] = relationship(
        back_populates="event", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (Index("ix_events_camera_track", "camera_id", "track_id"),)


class Alert(Base):
    """The outbox: one message to one recipient over one channel."""

    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(
        String(32),
        primary_key=True,
        doc="Random hex id, sent with every message as the idempotency key. Random rather "
        "than a counter so a rebuilt database never reuses an id a receiver has seen.",
    )
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[AlertKind] = mapped_column(_enum(AlertKind))
    channel: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(
        String(256),
        doc="Phone number or address; '' for channels with one destination.",
    )
    status: Mapped[AlertStatus] = mapped_column(_enum(AlertStatus))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(
        UtcDateTime, doc="While sending: after this the claim is presumed dead."
    )
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(256))
    detail: Mapped[str | None] = mapped_column(
        Text, doc="Kind-specific text (summary counts)."
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    event: Mapped[Event] = relationship(back_populates="alerts")
    attempt_log: Mapped[list[DeliveryAttempt]] = relationship(
        back_populates="alert",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="DeliveryAttempt.id",
    )

    __table_args__ = (
        # Kind is part of the key: the same recipient gets the alert and later the
        # "resolved" message for one event, but never the same kind twice.
        UniqueConstraint(
            "event_id", "kind", "channel", "recipient", name="uq_alerts_target"
        ),
        Index("ix_alerts_status_due", "status", "next_attempt_at"),
    )


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, doc="None while in flight, or when the sender died mid-attempt."
    )
    ok: Mapped[bool | None] = mapped_column(Boolean)
    http_status: Mapped[int | None] = mapped_column(Integer)
    provider_answer: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(256))
    error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(64))

    alert: Mapped[Alert] = relationship(back_populates="attempt_log")
