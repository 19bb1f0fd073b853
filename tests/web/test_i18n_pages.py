"""Pages in the user's language: the user's choice (users.locale), else
web.default_locale, else the browser's Accept-Language; Korean text on the dashboard and
in the header, in TestClient and in a real Chromium."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fallwatch.serve.app import FallwatchServer
from fallwatch.types import Role
from fallwatch.web.app import create_app
from tests.fakes.browser import chromium
from tests.fakes.web import LiveServer, fall_event, login, make_server

NURSE = ("nurse", "nurse-password-1")


def _messages(html: str) -> dict[str, str]:
    found = re.search(r'<script type="application/json" id="fw-messages">(.*?)</script>', html)
    assert found, "no message catalog in the page"
    messages: dict[str, str] = json.loads(found.group(1))
    return messages


def _korean_user(server: FallwatchServer) -> None:
    view = server.auth.add_user(*NURSE, Role.OPERATOR)
    server.auth.set_locale(view.id, "ko")


def test_a_korean_user_sees_the_dashboard_in_korean(server: FallwatchServer) -> None:
    _korean_user(server)
    with TestClient(create_app(server), base_url="http://127.0.0.1") as c:
        login(c, *NURSE)
        page = c.get("/", headers={"Accept-Language": "en"}).text
    assert '<html lang="ko">' in page
    assert "미확인 경보" in page and "Open alarms" not in page  # dashboard.html's heading
    assert "로그아웃" in page and "Log out" not in page  # the header (base.html)
    assert "쓰러진 사람 발생" in page  # the banner
    assert "(운영자)" in page  # the role, translated
    # The scripts' strings only, in Korean; the template strings stay out.
    messages = _messages(page)
    assert messages["No open alarms."] == "미확인 경보가 없습니다."
    assert messages["Sound: on"] == "소리: 켜짐"
    assert "Log out" not in messages


def test_a_korean_user_reads_event_kinds_and_states_in_korean(server: FallwatchServer) -> None:
    """The API's English values (fall, open) are words on the page: translated there."""
    _korean_user(server)
    server.router.on_event(fall_event("lobby"))
    with TestClient(create_app(server), base_url="http://127.0.0.1") as c:
        login(c, *NURSE)
        events = c.get("/events").text
        event = c.get("/events/1").text
        dashboard = c.get("/").text
    assert "낙상" in events and "미확인" in events  # kind and state in the list
    assert "이벤트 1:" in event and "낙상" in event and ">미확인<" in event
    assert "메모" in event and ">확인<" in event and ">Acknowledge<" not in event
    assert "낙상" in dashboard  # the open alarm's kind
    messages = _messages(events)
    assert messages["open"] == "미확인" and messages["fall"] == "낙상"


def test_english_by_default_and_the_catalog_is_empty(client: TestClient) -> None:
    login(client)
    page = client.get("/").text
    assert '<html lang="en">' in page and "Open alarms" in page and "Log out" in page
    assert _messages(page) == {}


def test_a_user_chooses_the_language_of_their_pages(client: TestClient) -> None:
    csrf = login(client)
    assert client.get("/api/me").json()["locale"] == "en"
    r = client.patch("/api/users/me", json={"locale": "ko"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    assert r.json()["locale"] == "ko"
    assert client.get("/api/me").json()["locale"] == "ko"
    assert "미확인 경보" in client.get("/").text
    users = client.get("/api/users").json()
    assert [u["locale"] for u in users if u["username"] == "admin"] == ["ko"]
    # null: back to the server's default (here the browser's language)
    r = client.patch("/api/users/me", json={"locale": None}, headers={"X-CSRF-Token": csrf})
    assert r.json()["locale"] is None
    assert "Open alarms" in client.get("/", headers={"Accept-Language": "en"}).text
    assert "미확인 경보" in client.get("/", headers={"Accept-Language": "ko-KR,ko;q=0.9"}).text


def test_bad_language_choices_are_refused(server: FallwatchServer, client: TestClient) -> None:
    csrf = login(client)
    headers = {"X-CSRF-Token": csrf}
    r = client.patch("/api/users/me", json={"locale": "fr"}, headers=headers)
    assert r.status_code == 422 and "locale" in r.json()["detail"]
    assert client.patch("/api/users/me", json={"locale": "ko"}).status_code == 403  # no CSRF
    token, _ = server.auth.create_token("bot", Role.VIEWER, None)
    with TestClient(create_app(server), base_url="http://127.0.0.1") as bot:
        r = bot.patch(
            "/api/users/me", json={"locale": "ko"}, headers={"Authorization": f"Bearer {token}"}
        )
    assert r.status_code == 400 and "API token" in r.json()["detail"]


def test_the_login_page_follows_the_browser_then_the_server_default(tmp_path: Path) -> None:
    srv = make_server(tmp_path / "a")
    srv.start(run_workers=False)
    try:
        with TestClient(create_app(srv), base_url="http://127.0.0.1") as c:
            korean = c.get("/login", headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.8"})
            assert '<html lang="ko">' in korean.text and "비밀번호" in korean.text
            english = c.get("/login", headers={"Accept-Language": "de, en;q=0.5"})
            assert '<html lang="en">' in english.text and "Password" in english.text
            r = c.post(
                "/login",
                data={"username": "x", "password": "y", "login_csrf": "forged"},
                headers={"Accept-Language": "ko"},
            )
            assert r.status_code == 400 and "로그인 양식이 만료되었습니다" in r.text
    finally:
        srv.stop()
    srv = make_server(tmp_path / "b", web={"default_locale": "ko"})
    srv.start(run_workers=False)
    try:
        with TestClient(create_app(srv), base_url="http://127.0.0.1") as c:
            page = c.get("/login", headers={"Accept-Language": "en"}).text
            assert '<html lang="ko">' in page and "비밀번호" in page
            login(c)
            assert "미확인 경보" in c.get("/").text  # no choice of their own: the default
    finally:
        srv.stop()


# --- in a real Chromium ------------------------------------------------------------------


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[FallwatchServer]:
    srv = make_server(tmp_path, cameras=[{"id": "lobby", "url": "rtsp://10.0.0.9/s1"}])
    srv.start(run_workers=False)
    yield srv
    srv.stop()


def test_korean_dashboard_in_chromium_and_switching_to_english(
    live_server: FallwatchServer,
) -> None:
    _korean_user(live_server)
    with LiveServer(live_server) as web, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="en-US")
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{web.url}/", wait_until="domcontentloaded")  # live tiles never "load"
        page.fill("input[name=username]", NURSE[0])
        page.fill("input[name=password]", NURSE[1])
        page.click("button[type=submit]")
        page.wait_for_url(f"{web.url}/", wait_until="domcontentloaded")
        assert page.inner_text("#alarms h2").startswith("미확인 경보")
        assert page.inner_text("header.top nav").split() == ["카메라", "이벤트", "API"]
        assert page.inner_text("header form.inline button") == "로그아웃"
        # Filled by app.js through t(): the empty alarm list and the sound button.
        page.wait_for_function(
            "() => document.querySelector('#alarm-list').textContent.includes('미확인 경보가 없습니다')"
        )
        assert page.inner_text("#sound-toggle").startswith("소리:")
        # The header's language selector saves the choice and reloads the page in it.
        with page.expect_navigation(wait_until="domcontentloaded"):
            page.select_option("#locale-select", "en")
        page.wait_for_function(
            "() => document.querySelector('#alarms h2').textContent.startsWith('Open alarms')"
        )
        assert page.inner_text("header form.inline button") == "Log out"
        assert errors == []
    (nurse,) = [u for u in live_server.auth.list_users() if u.username == NURSE[0]]
    assert nurse.locale == "en"


def test_the_choice_is_stored_on_both_databases(tmp_path: Path, database_url: str | None) -> None:
    srv = make_server(tmp_path, database_url=database_url)
    srv.start(run_workers=False)
    try:
        _korean_user(srv)
        (nurse,) = [u for u in srv.auth.list_users() if u.username == NURSE[0]]
        assert nurse.locale == "ko"
        with TestClient(create_app(srv), base_url="http://127.0.0.1") as c:
            login(c, *NURSE)
            assert c.get("/api/me").json()["locale"] == "ko"
    finally:
        srv.stop()


def test_concurrent_pages_keep_their_own_language(server: FallwatchServer) -> None:
    # The Jinja environment is shared: each render must use its own request's catalog.
    _korean_user(server)
    app = create_app(server)
    with (
        TestClient(app, base_url="http://127.0.0.1") as korean,
        TestClient(app, base_url="http://127.0.0.1") as english,
    ):
        login(korean, *NURSE)
        login(english)

        def fetch(which: str) -> tuple[str, str]:
            client = korean if which == "ko" else english
            return which, client.get("/", headers={"Accept-Language": "en"}).text

        with ThreadPoolExecutor(max_workers=8) as pool:
            pages = list(pool.map(fetch, ["ko", "en"] * 12))
    for which, page in pages:
        if which == "ko":
            assert "미확인 경보" in page and "Open alarms" not in page
        else:
            assert "Open alarms" in page and "미확인 경보" not in page
