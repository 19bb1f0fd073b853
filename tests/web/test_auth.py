"""Logins, sessions and tokens against a real server: throttling, logout, disabled users,
case-insensitive names, the last admin. Over real sockets where the client address or
concurrency matters (uvicorn on 127.0.0.1, clients from 127.0.0.1 and 127.0.0.2)."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from fallwatch.serve.app import FallwatchServer
from fallwatch.types import Role
from fallwatch.web.app import create_app
from tests.fakes.web import ADMIN, LiveServer, login, make_server, try_login


def _client(url: str, address: str = "127.0.0.1") -> httpx.Client:
    return httpx.Client(
        base_url=url,
        transport=httpx.HTTPTransport(local_address=address),
        timeout=60,
    )


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[FallwatchServer, LiveServer]]:
    srv = make_server(tmp_path)
    srv.start(run_workers=False)
    try:
        with LiveServer(srv) as web:
            yield srv, web
    finally:
        srv.stop()


def test_guessing_is_throttled_logged_and_counted_per_user_and_address(
    live: tuple[FallwatchServer, LiveServer], caplog: pytest.LogCaptureFixture
) -> None:
    srv, web = live
    srv.auth.add_user("nurse.kim", "longenough", Role.OPERATOR)
    caplog.set_level(logging.WARNING, logger="fallwatch.serve.auth")
    with _client(web.url) as attacker:
        answers = [try_login(attacker, "admin", f"guess-{i}") for i in range(100)]
    codes = Counter(r.status_code for r in answers)
    print(f"\n100 wrong passwords from one client: {dict(codes)}")
    # Five wrong passwords are checked, then the name is locked: no more hashing.
    assert codes == {401: 5, 429: 95}
    refused = answers[-1]
    assert 1 <= int(refused.headers["retry-after"]) <= 900
    assert "Too many failed logins" in refused.text
    failures = [r.getMessage() for r in caplog.records if "login failed" in r.getMessage()]
    assert len(failures) == 100
    assert "login failed for user 'admin' from 127.0.0.1: wrong_password" in failures
    assert "guess-" not in caplog.text  # never the password
    # Another user from another address is not locked out.
    with _client(web.url, "127.0.0.2") as nurse:
        assert try_login(nurse, "nurse.kim", "longenough").status_code == 303
        assert nurse.get("/api/me").json()["name"] == "nurse.kim"
        metrics = nurse.get("/metrics").text
    assert 'fallwatch_login_failures_total{reason="wrong_password"} 5.0' in metrics
    assert 'fallwatch_login_failures_total{reason="throttled"} 95.0' in metrics


def test_an_address_guessing_many_names_is_locked(
    live: tuple[FallwatchServer, LiveServer],
) -> None:
    _, web = live
    with _client(web.url) as attacker:
        codes = [try_login(attacker, f"user{i}", "wrong-password").status_code for i in range(25)]
        # 20 failures from the address lock it, even for the real admin's password.
        assert codes[:20] == [401] * 20 and set(codes[20:]) == {429}
        assert try_login(attacker, *ADMIN).status_code == 429
    with _client(web.url, "127.0.0.2") as admin:
        assert try_login(admin, *ADMIN).status_code == 303


def test_concurrent_password_checks_are_bounded(tmp_path: Path) -> None:
    srv = make_server(
        tmp_path,
        web={"login": {"max_failures_per_address": 1000, "max_failures_per_user": 1000}},
    )
    srv.start(run_workers=False)
    codes: list[int] = []
    try:
        with LiveServer(srv) as web:

            def attempt(i: int) -> None:
                with _client(web.url) as c:
                    codes.append(try_login(c, f"user{i}", "wrong-password").status_code)

            threads = [threading.Thread(target=attempt, args=(i,)) for i in range(40)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
    finally:
        srv.stop()
    print(f"\n40 concurrent logins: {dict(Counter(codes))}, peak hashes {srv.auth.gate.peak}")
    assert len(codes) == 40 and set(codes) <= {401, 503}
    assert 1 <= srv.auth.gate.peak <= 2


@pytest.fixture
def admin_client(
    tmp_path: Path, database_url: str | None
) -> Iterator[tuple[FallwatchServer, TestClient, str]]:
    """An admin logged in on a server over SQLite, then over a real PostgreSQL."""
    srv = make_server(tmp_path, database_url)
    srv.start(run_workers=False)
    try:
        with TestClient(create_app(srv), base_url="http://127.0.0.1") as c:
            yield srv, c, login(c)
    finally:
        srv.stop()


def _other_client(client: TestClient) -> TestClient:
    return TestClient(client.app, base_url="http://127.0.0.1")


def test_logout_ends_the_session_even_for_a_copied_cookie(
    admin_client: tuple[FallwatchServer, TestClient, str],
) -> None:
    _, client, csrf = admin_client
    with _other_client(client) as thief, _other_client(client) as laptop:
        thief.cookies.set("fw_session", client.cookies["fw_session"])
        login(laptop)  # a second session of the same user
        assert thief.get("/api/me").status_code == 200
        r = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
        assert r.status_code == 303
        assert thief.get("/api/me").status_code == 401
        page = thief.get("/", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        assert laptop.get("/api/me").status_code == 200  # only that session ended


def _add_admin_with_token(client: TestClient, csrf: str, name: str = "boss") -> tuple[int, str]:
    """A new admin, logged in on their own client, and an admin API token they created."""
    h = {"X-CSRF-Token": csrf}
    r = client.post(
        "/api/users",
        json={"username": name, "password": "longenough", "role": "admin"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    with _other_client(client) as user:
        user_csrf = login(user, name, "longenough")
        token = user.post(
            "/api/tokens",
            json={"name": f"{name}-bot", "role": "admin"},
            headers={"X-CSRF-Token": user_csrf},
        ).json()["token"]
    return int(r.json()["id"]), str(token)


def test_tokens_of_a_disabled_demoted_or_removed_user_stop_working(
    admin_client: tuple[FallwatchServer, TestClient, str],
) -> None:
    _, client, csrf = admin_client
    h = {"X-CSRF-Token": csrf}
    new_user = {"username": "intruder", "password": "longenough", "role": "admin"}
    with _other_client(client) as bot:
        boss_id, token = _add_admin_with_token(client, csrf)
        auth = {"Authorization": f"Bearer {token}"}
        assert bot.get("/api/users", headers=auth).status_code == 200
        client.patch(f"/api/users/{boss_id}", json={"role": "operator"}, headers=h)
        r = bot.get("/api/users", headers=auth)
        assert r.status_code == 403 and "operator" in r.json()["detail"]
        client.patch(f"/api/users/{boss_id}", json={"role": "admin"}, headers=h)
        assert bot.get("/api/users", headers=auth).status_code == 200
        assert client.patch(f"/api/users/{boss_id}", json={"disabled": True}, headers=h).is_success
        assert bot.post("/api/users", json=new_user, headers=auth).status_code == 401
        # Re-enabling does not bring the token back: disabling revoked it.
        client.patch(f"/api/users/{boss_id}", json={"disabled": False}, headers=h)
        assert bot.get("/api/me", headers=auth).status_code == 401
        boss_id2, token2 = _add_admin_with_token(client, csrf, "boss2")
        assert client.delete(f"/api/users/{boss_id2}", headers=h).status_code == 204
        assert bot.get("/api/me", headers={"Authorization": f"Bearer {token2}"}).status_code == 401


def test_a_new_password_ends_every_session_and_token(
    admin_client: tuple[FallwatchServer, TestClient, str],
) -> None:
    srv, client, csrf = admin_client
    _, token = _add_admin_with_token(client, csrf)
    with _other_client(client) as boss:
        login(boss, "boss", "longenough")
        srv.auth.set_password("BOSS", "another-password")
        assert boss.get("/api/me").status_code == 401
        assert boss.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        login(boss, "boss", "another-password")


def test_user_names_are_case_insensitive(
    admin_client: tuple[FallwatchServer, TestClient, str],
) -> None:
    _, client, csrf = admin_client
    h = {"X-CSRF-Token": csrf}
    r = client.post(
        "/api/users", json={"username": "Nurse.Kim", "password": "longenough"}, headers=h
    )
    assert r.status_code == 201 and r.json()["username"] == "nurse.kim"
    again = client.post(
        "/api/users", json={"username": "NURSE.kim", "password": "longenough"}, headers=h
    )
    assert again.status_code == 409
    assert (
        client.post(
            "/api/users", json={"username": "ADMIN", "password": "longenough"}, headers=h
        ).status_code
        == 409
    )
    with _other_client(client) as nurse:
        login(nurse, "NURSE.KIM", "longenough")
        assert nurse.get("/api/me").json()["name"] == "nurse.kim"


def test_the_last_enabled_admin_cannot_be_disabled_demoted_or_removed(
    admin_client: tuple[FallwatchServer, TestClient, str],
) -> None:
    _, client, csrf = admin_client
    h = {"X-CSRF-Token": csrf}
    me = next(u["id"] for u in client.get("/api/users").json() if u["username"] == "admin")
    for method, body in (("PATCH", {"disabled": True}), ("PATCH", {"role": "viewer"})):
        r = client.request(method, f"/api/users/{me}", json=body, headers=h)
        assert r.status_code == 409 and "last enabled admin" in r.json()["detail"], r.text
    r = client.delete(f"/api/users/{me}", headers=h)
    assert r.status_code == 409 and "last enabled admin" in r.json()["detail"]
    assert client.get("/api/me").json()["role"] == "admin"
    # A disabled admin does not count; another enabled one does.
    other = client.post(
        "/api/users", json={"username": "ops", "password": "longenough", "role": "admin"}, headers=h
    ).json()["id"]
    assert client.patch(f"/api/users/{other}", json={"disabled": True}, headers=h).is_success
    assert client.patch(f"/api/users/{me}", json={"role": "viewer"}, headers=h).status_code == 409
    assert client.patch(f"/api/users/{other}", json={"disabled": False}, headers=h).is_success
    assert client.patch(f"/api/users/{me}", json={"role": "operator"}, headers=h).is_success
