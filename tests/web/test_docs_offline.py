"""/api/docs from the app's own files: it renders with the network cut, under the same
Content-Security-Policy as every page, and no page names an outside URL."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from fallwatch.serve.app import FallwatchServer
from fallwatch.web.middleware import CONTENT_SECURITY_POLICY
from tests.fakes.browser import chromium
from tests.fakes.web import ADMIN, LiveServer, login

LINK = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def test_docs_and_pages_reference_only_this_server(client: TestClient) -> None:
    login(client)
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    # The pages' own policy: no CDN, no inline script.
    assert docs.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "<script>" not in docs.text and "<style" not in docs.text
    links = LINK.findall(docs.text)
    assert any(u.endswith("swagger-ui-bundle.js") for u in links), links
    for url in links:
        assert url.startswith("/") and not url.startswith("//"), url
        r = client.get(url)
        assert r.status_code == 200 and r.content, url
    for page in ("/", "/events", "/login"):
        html = client.get(page).text
        assert not re.search(r"""(?:src|href|action)\s*=\s*["'](?:https?:)?//""", html), page


def test_docs_render_with_the_network_cut(server: FallwatchServer) -> None:
    with chromium() as browser, LiveServer(server) as web:
        page = browser.new_page()
        page.set_default_timeout(20_000)
        outside: list[str] = []
        problems: list[str] = []

        def only_this_server(route: object) -> None:
            url = route.request.url  # type: ignore[attr-defined]
            if url.startswith(web.url + "/"):
                route.continue_()  # type: ignore[attr-defined]
            else:
                outside.append(url)
                route.abort()  # type: ignore[attr-defined]

        page.route("**/*", only_this_server)
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.goto(f"{web.url}/")
        page.fill("input[name=username]", ADMIN[0])
        page.fill("input[name=password]", ADMIN[1])
        page.click("button[type=submit]")
        page.wait_for_url(f"{web.url}/", wait_until="domcontentloaded")
        problems.clear()  # only the docs page is judged here
        page.goto(f"{web.url}/api/docs")
        page.locator(".opblock").first.wait_for()
        assert page.locator(".opblock").count() >= 20
        assert "/api/events" in page.locator("#swagger-ui").inner_text()
        assert outside == [] and problems == [], (outside, problems)
