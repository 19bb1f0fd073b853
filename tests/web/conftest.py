"""Fixtures for web tests: a server over SQLite (and once over a real PostgreSQL), clients."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fallwatch.serve.app import FallwatchServer
from fallwatch.web.app import create_app
from tests.fakes.browser import chromium
from tests.fakes.web import make_server, postgres_bin, run_postgres


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if postgres_bin() is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    # Not under pytest's tmp dir: that is private to root, and PostgreSQL runs as `postgres`.
    base = Path(tempfile.mkdtemp(prefix="fallwatch-pg-"))
    try:
        yield from run_postgres(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """None (the default SQLite file in data_dir) or a fresh database on the test PostgreSQL."""
    if request.param == "sqlite":
        return None
    base_url: str = request.getfixturevalue("postgres_url")
    import sqlalchemy as sa

    name = "t_" + uuid.uuid4().hex[:12]
    engine = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    engine.dispose()
    return base_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FallwatchServer]:
    srv = make_server(
        tmp_path,
        cameras=[
            {
                "id": "lobby",
                "name": "Lobby",
                "location": "Ground floor",
                "url": "rtsp://viewer:s3cret@10.0.0.9/s1",
            }
        ],
    )
    srv.start(run_workers=False)
    yield srv
    srv.stop()


@pytest.fixture
def client(server: FallwatchServer) -> Iterator[TestClient]:
    with TestClient(create_app(server), base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def browser() -> Iterator[object]:
    """A real headless Chromium (or the test is skipped)."""
    with chromium() as b:
        yield b
