"""The admin pages (/users, /tokens, /alerts): only for admins, and used in a real Chromium.

An admin adds a user, changes their role, disables them and sets their password, creates
a token (shown once) and revokes another, and finds a failed alert listed first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from fallwatch.serve.app import FallwatchServer
from fallwatch.store.alerts import AlertTarget
from fallwatch.store.events import record_event
from fallwatch.store.models import Alert
from fallwatch.types import AlertStatus, Role
from fallwatch.web.app import create_app
from tests.fakes.store import T0, make_event
from tests.fakes.web import ADMIN, LiveServer, login, make_server

ADMIN_PAGES = ("/users", "/tokens", "/alerts")


def test_admin_pages_answer_admins_only_and_the_nav_shows_them_to_admins(
    server: FallwatchServer,
) -> None:
    server.auth.add_user("ops", "ops-password-1", Role.OPERATOR)
    app = create_app(server)
    with TestClient(app, base_url="http://127.0.0.1") as anonymous:
        r = anonymous.get("/users", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login?next=/users"
    with TestClient(app, base_url="http://127.0.0.1") as ops:
        login(ops, "ops", "ops-password-1")
        for path in ADMIN_PAGES:
            r = ops.get(path)
            assert r.status_code == 403, (path, r.status_code)
            assert "admin role" in r.json()["detail"]
        nav = ops.get("/").text
        assert 'href="/users"' not in nav and 'href="/tokens"' not in nav
    with TestClient(app, base_url="http://127.0.0.1") as admin:
        login(admin)
        nav = admin.get("/").text
        assert all(f'href="{p}"' in nav for p in ADMIN_PAGES)
        for path in ADMIN_PAGES:
            r = admin.get(path)
            assert r.status_code == 200, (path, r.status_code)
            assert '<script src="/static/admin.js" defer></script>' in r.text
            # The strict CSP allows no inline script: every <script> names a file, but for
            # the JSON message catalog (data, never run).
            assert not re.search(r'<script(?![^>]*\b(src=|type="application/json"))', r.text)
        assert admin.get("/static/admin.js").status_code == 200


# --- in a real Chromium ------------------------------------------------------------------


@pytest.fixture
def admin_server(tmp_path: Path) -> Iterator[FallwatchServer]:
    srv = make_server(tmp_path, cameras=[{"id": "lobby", "url": "rtsp://10.0.0.9/s1"}])
    srv.start(run_workers=False)
    yield srv
    srv.stop()


def _alerts_with_one_old_failure(srv: FallwatchServer) -> str:
    """Two events' alerts; one alert of the older event failed. Returns its id."""
    with srv.sessions.begin() as session:
        old = record_event(
            session,
            make_event("lobby", track_id=1),
            targets=[AlertTarget("sms", "01011112222"), AlertTarget("hook")],
            now=T0,
        )
        record_event(
            session,
            make_event("lobby", track_id=2),
            targets=[AlertTarget("sms", "01033334444"), AlertTarget("hook")],
            now=T0 + timedelta(minutes=5),
        )
        session.flush()
        failed = next(a for a in old.alerts if a.channel == "sms")
        session.execute(
            update(Alert)
            .where(Alert.id == failed.id)
            .values(status=AlertStatus.FAILED, attempts=5, last_error="HTTP 401: bad signature")
        )
        return failed.id


def _log_in(page: object, url: str) -> None:
    page.goto(f"{url}/users")  # type: ignore[attr-defined]
    assert "/login" in page.url  # type: ignore[attr-defined]
    page.fill("input[name=username]", ADMIN[0])  # type: ignore[attr-defined]
    page.fill("input[name=password]", ADMIN[1])  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(f"{url}/users")  # type: ignore[attr-defined]


def test_an_admin_manages_users_and_tokens_and_sees_failed_alerts_first(
    browser: object, admin_server: FallwatchServer
) -> None:
    srv = admin_server
    old_token, _ = srv.auth.create_token("old-bot", Role.VIEWER, None)
    assert srv.auth.token_principal(old_token) is not None
    failed_id = _alerts_with_one_old_failure(srv)
    with LiveServer(srv) as web:
        page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))  # a script error, not a 409
        page.on("dialog", lambda d: d.accept())
        _log_in(page, web.url)

        # Users: add one as operator, then make them a viewer, disable them, set a password.
        page.locator('#users-table tr[data-username="admin"]').wait_for()
        page.fill("#user-add input[name=username]", "Nurse")
        page.fill("#user-add input[name=password]", "first-password-1")
        page.select_option("#user-add select[name=role]", "operator")
        page.click("#user-add button[type=submit]")
        row = page.locator('#users-table tr[data-username="nurse"]')
        row.wait_for()
        assert "added" in page.inner_text("#admin-message")
        assert row.locator("select.role").input_value() == "operator"
        row.locator("select.role").select_option("viewer")
        page.wait_for_function(
            "() => document.querySelector('#admin-message').textContent.includes('is now viewer')"
        )
        row.locator("button.toggle").click()
        page.wait_for_function(
            "() => document.querySelector('tr[data-username=nurse] .state')"
            ".textContent === 'disabled'"
        )
        row.locator("button.password").click()
        page.fill("tr.password-row input[name=password]", "second-password-2")
        page.click("tr.password-row button[type=submit]")
        page.wait_for_function(
            "() => document.querySelector('#admin-message').textContent.includes('Password of')"
        )
        nurse = next(u for u in srv.auth.list_users() if u.username == "nurse")
        assert nurse.role is Role.VIEWER and nurse.disabled
        # The last admin stays: the server's refusal is shown on the page.
        page.locator('#users-table tr[data-username="admin"] button.toggle').click()
        page.wait_for_function(
            "() => document.querySelector('#admin-message').classList.contains('error')"
        )
        assert "last enabled admin" in page.inner_text("#admin-message")

        # Tokens: create one (shown once), revoke the old one.
        page.click("nav a[href='/tokens']")
        page.wait_for_url(f"{web.url}/tokens")
        page.locator('#tokens-table tr[data-name="old-bot"] button.revoke').wait_for()
        page.fill("#token-create input[name=name]", "prometheus")
        page.click("#token-create button[type=submit]")
        page.locator("#token-created").wait_for(state="visible")
        new_token = page.inner_text("#new-token").strip()
        assert srv.auth.token_principal(new_token) is not None
        page.locator('#tokens-table tr[data-name="old-bot"] button.revoke').click()
        page.wait_for_function(
            "() => document.querySelector('tr[data-name=old-bot] .state')"
            ".textContent.startsWith('revoked')"
        )
        assert srv.auth.token_principal(old_token) is None
        page.reload()
        assert new_token not in page.content()  # shown once only

        # Alerts: the failed one (of the older event) comes first.
        page.click("nav a[href='/alerts']")
        page.wait_for_url(f"{web.url}/alerts")
        rows = page.locator("#alerts-table tbody tr[data-alert-id]")
        page.wait_for_function(
            "() => document.querySelectorAll('#alerts-table tr[data-alert-id]').length === 4"
        )
        assert rows.first.get_attribute("data-alert-id") == failed_id
        assert "bad signature" in rows.first.inner_text()
        assert "failed" in rows.first.locator(".status").inner_text()
        # Filter by channel, then by status: the address keeps the filters.
        page.select_option("#alert-filters select[name=channel]", "hook")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#alerts-table td.channel')]"
            ".every((td) => td.textContent === 'hook')"
        )
        assert rows.count() == 2 and "channel=hook" in page.url
        page.select_option("#alert-filters select[name=channel]", "")
        page.check("#alert-filters input[value=failed]")
        page.wait_for_function(
            "() => document.querySelectorAll('#alerts-table tr[data-alert-id]').length === 1"
        )
        page.reload()
        page.wait_for_function(
            "() => document.querySelectorAll('#alerts-table tr[data-alert-id]').length === 1"
        )
        assert page.is_checked("#alert-filters input[value=failed]")
        assert not errors, errors
