"""Fixtures for web tests: a server over SQLite (and once over a real PostgreSQL), clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fallwatch.serve.app import FallwatchServer
from fallwatch.web.app import create_app
from tests.fakes.browser import chromium
from tests.fakes.web import fresh_database, make_server


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """None (the default SQLite file in data_dir) or a fresh database on the test PostgreSQL."""
    if request.param == "sqlite":
        return None
    return fresh_database(request.getfixturevalue("postgres_url"))


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
