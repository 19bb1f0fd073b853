"""Sliding sessions: a login in use lasts; the renewed cookie keeps its nonce and CSRF token."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from fallwatch.serve.app import FallwatchServer
from fallwatch.store.models import UserSession
from fallwatch.web.app import create_app
from tests.fakes.web import login, make_server

MAX_AGE_S = 3600


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, FallwatchServer]]:
    srv = make_server(tmp_path, web={"session_max_age_s": MAX_AGE_S})
    srv.start(run_workers=False)
    with TestClient(create_app(srv), base_url="http://127.0.0.1") as c:
        yield c, srv
    srv.stop()


def _session_cookie(r: object) -> str | None:
    for value in r.headers.get_list("set-cookie"):  # type: ignore[attr-defined]
        if value.startswith("fw_session="):
            return str(value)
    return None


def _use(c: TestClient, cookie: str) -> None:
    c.cookies.clear()
    c.cookies.set("fw_session", cookie, domain="127.0.0.1", path="/")


def test_a_session_past_half_its_age_is_renewed_by_any_request(
    client: tuple[TestClient, FallwatchServer],
) -> None:
    c, srv = client
    csrf = login(c)
    data = srv.signer.read(c.cookies["fw_session"])
    assert data is not None
    # Young: nothing re-sent.
    assert _session_cookie(c.get("/api/events")) is None
    # Ten minutes left of an hour: the next request renews it, page or API.
    for path in ("/", "/api/events"):
        aged = dataclasses.replace(data, expires_at=time.time() + 600)
        _use(c, srv.signer.encode(aged))
        r = c.get(path)
        assert r.status_code == 200
        header = _session_cookie(r)
        assert header is not None and f"Max-Age={MAX_AGE_S}" in header, header
        renewed = srv.signer.read(c.cookies["fw_session"])
        assert renewed is not None and renewed.nonce == data.nonce
        assert renewed.expires_at > time.time() + MAX_AGE_S - 60
    with srv.sessions.begin() as session:
        row = session.execute(select(UserSession)).scalar_one()
        assert row.expires_at.timestamp() > time.time() + MAX_AGE_S - 60
    # The page's CSRF token still holds after the renewal.
    r = c.post("/api/cameras", json={"id": "x"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code != 403, r.text
    # Logging out is not undone by a renewal on the same answer.
    aged = dataclasses.replace(data, expires_at=time.time() + 600)
    _use(c, srv.signer.encode(aged))
    r = c.post("/logout", headers={"X-CSRF-Token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert [v for v in r.headers.get_list("set-cookie") if v.startswith("fw_session=")] == [
        v for v in r.headers.get_list("set-cookie") if 'fw_session=""' in v
    ]
    assert c.get("/api/events").status_code == 401
