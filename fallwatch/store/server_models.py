"""Tables of `fallwatch serve`: cameras managed in the UI/API, users and API tokens.

On the store's one declarative `Base` (fallwatch.store.models), created by the Alembic
revision `0002_server`. Times are aware UTC in Python, naive UTC in the database
(`UtcDateTime`), as for the events tables.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fallwatch.store.models import Base, UtcDateTime


def _enum(cls: type[StrEnum]) -> Enum:
    # VARCHAR with the enum values, as in models.py: a new value is a code change only.
    return Enum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=16,
        values_callable=lambda e: [m.value for m in e],
    )


class Role(StrEnum):
    """What a user or token may do; each role includes the ones before it."""

    VIEWER = "viewer"
    """Watch cameras and events."""
    OPERATOR = "operator"
    """Also acknowledge and resolve events, pause and resume cameras."""
    ADMIN = "admin"
    """Also add, edit and remove cameras, users and API tokens."""

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


class CameraOrigin(StrEnum):
    CONFIG = "config"
    """From the config file: settings follow the file; only pause/resume is kept here."""
    API = "api"
    """Added in the UI or API: this row is the only place it is defined."""


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
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(
        String(256), doc="argon2id hash (PHC string)."
    )
    role: Mapped[Role] = mapped_column(_enum(Role))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    session_version: Mapped[int] = mapped_column(
        Integer,
        default=0,
        doc="Bumped on password change or 'log out everywhere': old cookies stop working.",
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(
        String(64), doc="What it is for ('nurse-call gateway')."
    )
    token_hash: Mapped[str] = mapped_column(
        String(64),
        unique=True,
        doc="SHA-256 hex of the token; the token itself is shown once.",
    )
    prefix: Mapped[str] = mapped_column(
        String(16), doc="First characters, to recognise it in lists."
    )
    role: Mapped[Role] = mapped_column(_enum(Role))
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
