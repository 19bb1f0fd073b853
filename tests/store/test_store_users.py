"""Users in a real SQLite database: the 0003 migration of mixed-case names, end_sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from fallwatch.store import users as repo
from fallwatch.store.db import make_engine, migrate
from fallwatch.types import Role

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_migration_lowers_names_and_renames_a_mixed_case_pair(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine, "0002_server")
    names = ["Admin", "admin", "Nurse.Kim", "ADMIN", "admin-4"]
    with engine.begin() as conn:
        for name in names:
            conn.execute(
                text(
                    "INSERT INTO users (username, password_hash, role, disabled, "
                    "session_version, created_at) VALUES (:n, 'h', 'admin', 0, 0, :t)"
                ),
                {"n": name, "t": NOW.replace(tzinfo=None)},
            )
    migrate(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, username, session_version FROM users")).all()
    engine.dispose()
    # 'admin' (id 2) was already lower case and keeps its name; the others are renamed
    # '<name>-<id>' (id 4 twice over: 'admin-4' is taken), and their sessions end.
    assert sorted(rows) == [
        (1, "admin-1", 1),
        (2, "admin", 0),
        (3, "nurse.kim", 1),
        (4, "admin-4-1", 1),
        (5, "admin-4", 0),
    ]


def test_end_sessions_ends_logins_and_tokens_of_that_user_only(
    sessions: sessionmaker[Session],
) -> None:
    later = NOW + timedelta(hours=1)
    with sessions.begin() as s:
        a = repo.add_user(s, "A", "h", Role.ADMIN, now=NOW)
        b = repo.add_user(s, "b", "h", Role.ADMIN, now=NOW)
        for sid, uid in (("sa", a.id), ("sb", b.id)):
            repo.add_session(s, sid, uid, now=NOW, expires_at=later)
            repo.add_token(s, sid, "hash-" + sid, "fw_", Role.ADMIN, created_by=uid, now=NOW)
    with sessions.begin() as s:
        assert repo.find_user(s, "a") is not None and a.username == "a"
        repo.end_sessions(s, a.id, now=NOW)
    with sessions.begin() as s:
        assert repo.find_session(s, "sa", now=NOW) is None
        assert repo.find_session(s, "sb", now=NOW) is not None
        assert repo.find_session(s, "sb", now=later) is None  # expired
        assert repo.find_token(s, "hash-sa") is None
        assert repo.find_token(s, "hash-sb") is not None
        assert repo.get_user(s, a.id).session_version == 1
