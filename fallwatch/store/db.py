"""Engine and session factory, and migrations; nothing is created at import time.

SQLite (a file in the data directory) is the default; PostgreSQL is a URL away
(`postgresql+psycopg://user@host/fallwatch`). Everything backend-specific lives here,
behind a dialect check: connection pragmas for SQLite, nothing extra for PostgreSQL.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

DB_FILENAME = "fallwatch.db"
SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite writer waits for another writer's lock before 'database is locked'."""


def sqlite_url(data_dir: Path | str) -> str:
    """The default database: `fallwatch.db` in the data directory (created if missing)."""
    path = Path(data_dir).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path / DB_FILENAME}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL: readers (the web UI) never block the dispatcher's writes, and the reverse.
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL costs one fsync per commit (a handful per alert) and makes a stored alert
    # survive power loss, which is the point of the outbox; NORMAL would not.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.close()


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for `url`, with SQLite made safe for several threads and processes."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:"):
            raise ValueError(
                "the store needs a SQLite file (sqlite:///path/fallwatch.db), not an in-memory "
                "database: the outbox must survive a restart"
            )
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={
                "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                "check_same_thread": False,
            },
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # pool_pre_ping: a dispatcher idle overnight finds its connections dropped by the
    # server; checking before use turns that into a reconnect rather than a failed send.
    return create_engine(url, echo=echo, pool_pre_ping=True)


def secure_sqlite_file(engine: Engine) -> None:
    """Make a SQLite database file readable by its owner alone (0600), whatever the umask.

    Created empty here if missing, so it is never briefly world-readable; SQLite gives
    its -wal and -shm files the same mode. Nothing to do for PostgreSQL.
    """
    if engine.url.get_backend_name() != "sqlite" or not engine.url.database:
        return
    path = Path(engine.url.database)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    if stat.S_IMODE(path.stat().st_mode) != 0o600:
        path.chmod(0o600)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: rows read in one short session stay readable after it
    # closes, which is how the store's functions hand results back.
    return sessionmaker(bind=engine, expire_on_commit=False)


def migrate(url_or_engine: str | Engine, revision: str = "head") -> None:
    """Bring the database schema up to `revision` with the migrations shipped in the package."""
    from alembic import command
    from alembic.config import Config

    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()


def open_store(url: str) -> sessionmaker[Session]:
    """Migrate the database at `url` and return a session factory for it."""
    engine = make_engine(url)
    migrate(engine)
    return session_factory(engine)
