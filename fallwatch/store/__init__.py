"""The database: events, the alerts outbox, delivery attempts, cameras, users, API tokens.

`db` makes engines and sessions (SQLite file by default, PostgreSQL by URL) and runs the
migrations shipped in `migrations/`; `models` holds every table on one declarative
`Base`. The queries live by entity: `events`, `alerts` (queueing, policy queries, the
alert log), `delivery` (the dispatcher's claims, leases and attempts), `cameras`,
`users`; a missing row is `errors.NotFound` whichever it is.
"""

from fallwatch.store.db import (
    make_engine,
    migrate,
    open_store,
    session_factory,
    sqlite_url,
)

__all__ = [
    "make_engine",
    "migrate",
    "open_store",
    "session_factory",
    "sqlite_url",
]
