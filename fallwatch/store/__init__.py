"""The database: events, the alerts outbox and delivery attempts (SQLAlchemy 2 + Alembic).

`db` makes engines and sessions (SQLite file by default, PostgreSQL by URL) and runs the
migrations shipped in `migrations/`; `models` holds the one declarative `Base`;
`repository` holds every query.
"""

from fallwatch.store import server_models as _server_models  # noqa: F401  (cameras, users, api_tokens on Base)
from fallwatch.store.db import (
    make_engine,
    migrate,
    open_store,
    session_factory,
    sqlite_url,
)
from fallwatch.store.models import (
    Alert,
    AlertKind,
    AlertStatus,
    Base,
    DeliveryAttempt,
    Event,
    EventState,
)

__all__ = [
    "Alert",
    "AlertKind",
    "AlertStatus",
    "Base",
    "DeliveryAttempt",
    "Event",
    "EventState",
    "make_engine",
    "migrate",
    "open_store",
    "session_factory",
    "sqlite_url",
]
