"""Security headers, HEAD on pages, and a bad Bearer header on a page (no login loop)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fallwatch.web.middleware import SECURITY_HEADERS
from tests.fakes.web import ADMIN, LiveServer, login, raw_answer, raw_status


def _has_security_headers(headers: object) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value, name  # type: ignore[index]


def test_every_answer_has_the_security_headers(client: TestClient) -> None:
    csp = SECURITY_HEADERS["content-security-policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    for path in ("/login", "/healthz", "/static/app.js", "/api/me", "/", "/nowhere"):
        r = client.get(path, follow_redirects=False)
        _has_security_headers(r.headers)
    csrf = login(client)
    for path in ("/", "/events", "/api/cameras", "/api/events/1", "/metrics"):
        _has_security_headers(client.get(path).headers)
    r = client.post("/api/cameras", json={"id": "Bad Id"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422
    _has_security_headers(r.headers)
    # The API docs page too: Swagger UI comes from this server, started from a file.
    _has_security_headers(client.get("/api/docs").headers)


def test_head_on_pages_answers_like_get_without_a_body(client: TestClient) -> None:
    r = client.head("/login")
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-type"].startswith("text/html")
    r = client.head("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/"
    login(client)
    for path in ("/", "/events", "/static/app.css"):
        get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b"" and head.headers["content-type"] == get.headers["content-type"]
    assert client.head("/events/999").status_code == 404


def test_head_over_a_real_socket_sends_no_body(client: TestClient) -> None:
    server = client.app.state.server  # type: ignore[attr-defined]
    with LiveServer(server) as live:
        answer = raw_answer(live.port, b"HEAD /login HTTP/1.1\r\nHost: x\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"\r\n\r\n"), answer
        assert b"content-length: 0" not in answer.lower()  # GET's length, no body
        assert raw_status(live.port, b"HEAD /api/me HTTP/1.1\r\nHost: x\r\n\r\n") in (401, 405)


def test_a_bad_bearer_header_on_a_page_does_not_loop_to_the_login_page(
    client: TestClient,
) -> None:
    for bad in ("Bearer nonsense", "Basic YWRtaW46eA==", "Bearer "):
        headers = {"Authorization": bad}
        r = client.get("/", headers=headers, follow_redirects=False)
        assert r.status_code == 401, (bad, r.status_code, r.headers.get("location"))
        assert r.headers["www-authenticate"] == "Bearer"
        # The login page itself renders whatever the header says.
        r = client.get("/login", headers=headers, follow_redirects=False)
        assert r.status_code == 200 and 'name="login_csrf"' in r.text, bad
        r = client.get("/login?next=/login", headers=headers, follow_redirects=False)
        assert r.status_code == 200
    # Without a header a page still sends the browser to log in, once.
    r = client.get("/events", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/events"
    assert login(client, *ADMIN)
