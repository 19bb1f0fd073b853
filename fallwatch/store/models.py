"""Database models: every table of the store, on one declarative `Base`.

`events` (what the control room must hear about), `alerts` (the outbox: one row per
event, message kind, channel and recipient) and `delivery_attempts` (every try at
sending an alert and what the provider answered), from the Alembic revision
`0001_outbox`; `cameras` (managed in the UI/API), `users` and `api_tokens`, from
`0002_server`; `user_sessions` (logins, so logging out ends them) from `0003_auth`; the users'
`locale` from `0005_locale`.
A new table is a model here and a new revision.

The enums stored in these tables are domain types (`fallwatch.types`): the notifiers and
the web layer use them without importing the ORM.

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

from fallwatch.types import AlertKind, AlertStatus, CameraOrigin, EventState, Role

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

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            # A naive time is ambiguous (local? UTC?); refusing it catches the bug early.
            raise ValueError(f"datetime must be timezone-aware, got naive {value.isoformat()}")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
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
    recovered_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, doc="When the person was first seen up again (not a resolution)."
    )
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[EventState] = mapped_column(_enum(EventState), default=EventState.OPEN)
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
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
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
    detail: Mapped[str | None] = mapped_column(Text, doc="Kind-specific text (summary counts).")
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
        UniqueConstraint("event_id", "kind", "channel", "recipient", name="uq_alerts_target"),
        Index("ix_alerts_status_due", "status", "next_attempt_at"),
    )


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
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


# --- fallwatch serve: cameras, users, API tokens (revision 0002_server) -------------


class CameraRow(Base):
    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    config_json: Mapped[str] = mapped_column(
        Text,
        doc="The camera's validated CameraConfig as JSON (source, detector, fall, zones).",
    )
    origin: Mapped[CameraOrigin] = mapped_column(_enum(CameraOrigin))
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(
        String(64), unique=True, doc="Lower case: user names are case-insensitive."
    )
    password_hash: Mapped[str] = mapped_column(String(256), doc="argon2id hash (PHC string).")
    role: Mapped[Role] = mapped_column(_enum(Role))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    session_version: Mapped[int] = mapped_column(
        Integer,
        default=0,
        doc="Bumped on password change or 'log out everywhere': old cookies stop working.",
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    locale: Mapped[str | None] = mapped_column(
        String(16), doc="Language of the pages ('en', 'ko'); None: the server's default."
    )


class UserSession(Base):
    """A login: the cookie names it, logging out deletes it (a copied cookie then fails)."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(
        String(64), primary_key=True, doc="SHA-256 hex of the cookie's session nonce."
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), doc="What it is for ('nurse-call gateway').")
    token_hash: Mapped[str] = mapped_column(
        String(64),
        unique=True,
        doc="SHA-256 hex of the token; the token itself is shown once.",
    )
    prefix: Mapped[str] = mapped_column(
        String(16), doc="First characters, to recognise it in lists."
    )
    role: Mapped[Role] = mapped_column(_enum(Role))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
