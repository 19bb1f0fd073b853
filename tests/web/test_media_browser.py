"""Chromium plays what Fallwatch writes: an event's clip on its page, `analyze` output.

MPEG-4 Part 2 (what `analyze` wrote before) gives MEDIA_ERR_SRC_NOT_SUPPORTED here;
H.264 in MP4 reaches readyState 4 (enough data to play through).
"""

from __future__ import annotations

import functools
import http.server
import subprocess
import sys
import threading
from pathlib import Path

from fallwatch.serve.app import FallwatchServer
from tests.fakes.browser import chromium
from tests.fakes.media import probe, video_state
from tests.fakes.web import ADMIN, LiveServer, fall_event, packet

FALL_CLIP = "videos/upfall/UPFall_S1_A01_T1_Cam2.mp4"


def test_the_event_page_plays_the_clip(server: FallwatchServer) -> None:
    for seq in range(4):
        server.router.on_packet(packet("lobby", seq))
    server.router.on_event(fall_event("lobby"))
    for seq in range(4, 12):
        server.router.on_packet(packet("lobby", seq))
    server.recorder.flush()
    with chromium() as browser, LiveServer(server) as web:
        page = browser.new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{web.url}/")
        page.fill("input[name=username]", ADMIN[0])
        page.fill("input[name=password]", ADMIN[1])
        page.click("button[type=submit]")
        # The dashboard's live tiles never finish loading: wait for the page, not its images.
        page.wait_for_url(f"{web.url}/", wait_until="domcontentloaded")
        page.goto(f"{web.url}/events")
        page.locator("tr[data-event-id] a").first.click()
        src = page.locator("video").get_attribute("src")
        assert src is not None and src.endswith("/clip.mp4"), src
        assert video_state(page) == (4, 0)


def test_chromium_plays_analyze_output(falls_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "annotated.mp4"
    r = subprocess.run(
        [
            sys.executable,
            *("-m", "fallwatch.cli", "analyze", falls_dir / FALL_CLIP),
            *("-o", out, "--no-progress"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert probe(out).codec == "h264"
    (tmp_path / "index.html").write_text('<video src="annotated.mp4" muted></video>')
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with chromium() as browser:
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{httpd.server_address[1]}/index.html")
            assert video_state(page) == (4, 0)
    finally:
        httpd.shutdown()
        httpd.server_close()
