"""Live MJPEG and server-sent events over a real HTTP server; the serve/user commands."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from fallwatch.cli import main
from fallwatch.serve.app import FallwatchServer
from tests.fakes.web import ADMIN, LiveServer, fall_event, make_server, packet


def session(base: str) -> _Entered:
    c = httpx.Client(base_url=base, timeout=10)
    c.__enter__()
    page = c.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = c.post("/login", data={"username": ADMIN[0], "password": ADMIN[1], "login_csrf": token})
    assert r.status_code in (200, 303), r.text
    return _Entered(c)


class _Entered:
    """An already-open client usable in a `with` statement (closes it on exit)."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def __enter__(self) -> httpx.Client:
        return self.client

    def __exit__(self, *exc: object) -> None:
        self.client.__exit__(*exc)


def read_parts(response: httpx.Response, n: int, timeout_s: float = 10) -> list[bytes]:
    """The first `n` JPEG parts of a multipart MJPEG response."""
    parts: list[bytes] = []
    buf = b""
    deadline = time.monotonic() + timeout_s
    for chunk in response.iter_bytes():
        buf += chunk
        while True:
            head_end = buf.find(b"\r\n\r\n")
            if head_end < 0:
                break
            m = re.search(rb"Content-Length: (\d+)", buf[:head_end])
            assert m, buf[:head_end]
            size = int(m.group(1))
            if len(buf) < head_end + 4 + size:
                break
            parts.append(buf[head_end + 4 : head_end + 4 + size])
            buf = buf[head_end + 4 + size :]
        if len(parts) >= n or time.monotonic() > deadline:
            break
    return parts[:n]


@pytest.fixture
def live_server(tmp_path: Path) -> FallwatchServer:
    srv = make_server(
        tmp_path,
        cameras=[
            {"id": "hall", "path": "/nonexistent.mp4"},
            {"id": "bedroom", "path": "/nonexistent.mp4", "privacy": True},
        ],
    )
    srv.start(run_workers=False)
    yield srv  # type: ignore[misc]
    srv.stop()


def test_mjpeg_streams_the_newest_frames_and_respects_privacy(
    live_server: FallwatchServer,
) -> None:
    srv = live_server
    stop = threading.Event()

    def feed() -> None:
        seq = 0
        while not stop.is_set():
            srv.router.on_packet(packet("hall", seq))
            srv.router.on_packet(packet("bedroom", seq, raw=False))
            seq += 1
            time.sleep(0.05)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        with LiveServer(srv) as web, session(web.url) as c:
            for view in ("annotated", "raw"):
                with c.stream("GET", f"/api/cameras/hall/live.mjpg?view={view}") as r:
                    assert r.status_code == 200
                    assert r.headers["content-type"].startswith("multipart/x-mixed-replace")
                    parts = read_parts(r, 4)
                assert len(parts) == 4 and all(p[:2] == b"\xff\xd8" for p in parts)
                assert len(set(parts)) >= 3, "frames change"
            r = c.get("/api/cameras/bedroom/live.mjpg?view=raw")
            assert r.status_code == 403 and "privacy camera" in r.json()["detail"]
            with c.stream("GET", "/api/cameras/bedroom/live.mjpg") as r:
                assert len(read_parts(r, 2)) == 2
            # Two viewers at once, and a viewer that reads nothing, do not hold the others up.
            with (
                c.stream("GET", "/api/cameras/hall/live.mjpg"),
                c.stream("GET", "/api/cameras/hall/live.mjpg") as second,
            ):
                assert len(read_parts(second, 3)) == 3
            assert c.get("/api/cameras/hall/latest.jpg").content[:2] == b"\xff\xd8"
    finally:
        stop.set()
        feeder.join()


def test_server_sent_events_announce_new_and_changed_events(
    live_server: FallwatchServer,
) -> None:
    srv = live_server
    got: list[tuple[str, dict[str, object]]] = []
    with LiveServer(srv) as web, session(web.url) as c:
        ready = threading.Event()

        def listen() -> None:
            with c.stream("GET", "/api/stream", timeout=20) as r:
                assert r.headers["content-type"].startswith("text/event-stream")
                kind = None
                for line in r.iter_lines():
                    ready.set()
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: ") and kind:
                        got.append((kind, json.loads(line[6:])))
                        if kind == "event_changed":
                            return

        t = threading.Thread(target=listen, daemon=True)
        t.start()
        assert ready.wait(10)
        time.sleep(0.3)
        srv.router.on_event(fall_event("hall"))
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', c.get("/").text).group(1)  # type: ignore[union-attr]
        assert (
            c.post("/api/events/1/acknowledge", headers={"X-CSRF-Token": csrf}).status_code == 200
        )
        t.join(15)
    kinds = [k for k, _ in got]
    assert "event_new" in kinds and "event_changed" in kinds, got
    new = next(d for k, d in got if k == "event_new")
    assert new["id"] == 1 and new["camera_id"] == "hall" and new["kind"] == "fall"
    assert next(d for k, d in got if k == "event_changed")["state"] == "acknowledged"


def test_user_add_command_then_login(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "fallwatch.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n")
    monkeypatch.setattr(sys, "stdin", io.StringIO("nurse-password\n"))
    assert (
        main(
            [
                "user",
                "add",
                "nurse",
                "--role",
                "operator",
                "--config",
                str(config),
                "--password-stdin",
            ]
        )
        == 0
    )
    assert "added with role operator" in capsys.readouterr().out
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(["user", "add", "kim", "--config", str(config), "--password-stdin"]) == 2
    assert "at least 8 characters" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO("nurse-password\n"))
    assert main(["user", "add", "nurse", "--config", str(config), "--password-stdin"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["token", "create", "prometheus", "--config", str(config)]) == 0
    assert capsys.readouterr().out.startswith("fw_")


def test_serve_with_a_bad_config_exits_2_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "fallwatch.yaml"
    config.write_text("cameras:\n  - {id: ward-1, path: a.mp4, fall: {confirm_s: 0}}\n")
    r = subprocess.run(
        [sys.executable, "-m", "fallwatch.cli", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "cameras[ward-1].fall.confirm_s" in r.stderr
    assert "Traceback" not in r.stderr
