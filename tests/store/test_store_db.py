from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, sessionmaker

from fallwatch.store.db import make_engine, migrate, open_store, sqlite_url
from fallwatch.store.models import Base, Event
from fallwatch.types import EventState


def test_migrations_build_exactly_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    migrate(engine)  # a second run is a no-op, not an error
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    engine.dispose()
    # A model change without a migration (or the reverse) shows up here.
    assert diff == []
    assert version == _head_revision()


def _head_revision() -> str:
    # The newest migration shipped, whoever added it (serve added 0002_server after 0001).
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    import fallwatch.store.db as store_db

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(store_db.__file__).parent / "migrations"))
    return str(ScriptDirectory.from_config(cfg).get_current_head())


def test_sqlite_connections_are_set_up_for_an_outbox(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        pragma = {
            name: session.execute(text(f"PRAGMA {name}")).scalar_one()
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
        }
    assert pragma == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 10000,
        "synchronous": 2,
    }


def test_default_url_is_a_file_in_the_data_dir(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "data")
    assert url == f"sqlite:///{(tmp_path / 'data' / 'fallwatch.db').resolve()}"
    factory = open_store(url)
    with factory() as session:
        assert session.execute(text("SELECT count(*) FROM events")).scalar_one() == 0
    assert (tmp_path / "data" / "fallwatch.db").is_file()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_database_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="SQLite file"):
        make_engine(url)


def _event(created_at: datetime) -> Event:
    return Event(
        camera_id="c",
        track_id=1,
        kind="fall",
        down_from_at=created_at,
        state=EventState.OPEN,
        down_score=1.0,
        created_at=created_at,
    )


def test_times_come_back_as_aware_utc(sessions: sessionmaker[Session]) -> None:
    seoul = timezone(timedelta(hours=9))
    t = datetime(2026, 3, 2, 18, 30, tzinfo=seoul)
    with sessions.begin() as session:
        session.add(_event(t))
    with sessions() as session:
        row = session.query(Event).one()
        assert row.created_at == t
        assert row.created_at.tzinfo is UTC
        assert row.created_at.hour == 9


def test_naive_datetimes_are_refused(sessions: sessionmaker[Session]) -> None:
    with (
        pytest.raises(StatementError, match="timezone-aware"),
        sessions.begin() as session,
    ):
        session.add(_event(datetime(2026, 3, 2, 9, 0)))
