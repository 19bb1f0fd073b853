"""Builders for web tests: servers on a real database, logins, events, a real PostgreSQL."""

from __future__ import annotations

import os
import pwd
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

import cv2
import httpx
import numpy as np
import uvicorn
from fastapi.testclient import TestClient

from fallwatch.config.loader import parse_server_config
from fallwatch.pipeline.packets import CameraEvent, CameraStats, FramePacket
from fallwatch.serve.app import FallwatchServer
from fallwatch.sources.capture import ConnectionState
from fallwatch.types import EventKind, FallEvent
from fallwatch.web.app import create_app

ADMIN = ("admin", "admin-password-1")
ENV = {"FALLWATCH_ADMIN_USER": ADMIN[0], "FALLWATCH_ADMIN_PASSWORD": ADMIN[1]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_server(
    tmp_path: Path, database_url: str | None = None, **settings: Any
) -> FallwatchServer:
    data: dict[str, Any] = {"data_dir": str(tmp_path / "data"), **settings}
    if database_url is not None:
        data["database_url"] = database_url
    server = FallwatchServer(parse_server_config(data, env={}), env=ENV)
    server.migrate()
    return server


def jpeg(level: int = 128, wh: tuple[int, int] = (64, 48)) -> bytes:
    ok, buf = cv2.imencode(".jpg", np.full((wh[1], wh[0], 3), level, np.uint8))
    assert ok
    return buf.tobytes()


def stats(camera_id: str, **changes: Any) -> CameraStats:
    values: dict[str, Any] = {
        "camera_id": camera_id,
        "connection": ConnectionState.CONNECTED,
        "analysis_fps": 5.0,
        "target_fps": 5.0,
        "source_fps": 25.0,
        "frames": 100,
        "analysed": 20,
        "dropped": 80,
        "inference_ms": 40.0,
        "latency_ms": 90.0,
        "reconnects": 1,
        "last_error": None,
        "retry_in_s": None,
        "people": 1,
        "wall_time": time.time(),
    }
    values.update(changes)
    return CameraStats(**values)


def packet(camera_id: str, seq: int, *, raw: bool = True, level: int | None = None) -> FramePacket:
    lv = (seq * 37) % 256 if level is None else level
    return FramePacket(
        camera_id=camera_id,
        seq=seq,
        captured_at=time.time(),
        annotated_jpeg=jpeg(lv),
        raw_jpeg=jpeg(255 - lv) if raw else None,
        stats=stats(camera_id),
    )


def fall_event(camera_id: str, track_id: int = 1, kind: EventKind = EventKind.FALL) -> CameraEvent:
    event = FallEvent(
        kind=kind,
        camera_id=camera_id,
        track_id=track_id,
        t_s=12.0,
        down_from_s=10.0,
        fall_seen_s=9.5 if kind is EventKind.FALL else None,
        xyxy=(10.0, 20.0, 50.0, 40.0),
        down_score=0.9,
    )
    return CameraEvent(event, jpeg(200), time.time())


def try_login(
    client: TestClient | httpx.Client, username: str = ADMIN[0], password: str = ADMIN[1]
) -> httpx.Response:
    """Post the login form (with its CSRF cookie) and return the answer, unfollowed."""
    page = client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert token, page.text
    return client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "login_csrf": token.group(1),
            "next": "/",
        },
        follow_redirects=False,
    )


def login(client: TestClient, username: str = ADMIN[0], password: str = ADMIN[1]) -> str:
    """Log `client` in through the form; returns the page's CSRF token."""
    r = try_login(client, username, password)
    assert r.status_code == 303, r.text
    home = client.get("/")
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', home.text)
    assert csrf, home.text
    return csrf.group(1)


class LiveServer:
    """uvicorn serving the app on 127.0.0.1 in a thread (for streams and the browser)."""

    def __init__(self, server: FallwatchServer) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(server),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
        self.uv = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.uv.run, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.uv.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.uv.should_exit = True
        self.thread.join(10)


# --- a real PostgreSQL for the storage tests ------------------------------------------


def postgres_bin() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def fresh_database(base_url: str) -> str:
    """A new, empty database on the test PostgreSQL at `base_url`; its URL."""
    import sqlalchemy as sa

    name = "t_" + uuid.uuid4().hex[:12]
    engine = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    engine.dispose()
    return base_url.rsplit("/", 1)[0] + "/" + name


def run_postgres(base: Path) -> Iterator[str]:
    """initdb + pg_ctl start on a free port in `base`, as the unprivileged `postgres` user
    when running as root (PostgreSQL refuses root); yields a psycopg URL."""
    bindir = postgres_bin()
    assert bindir is not None
    port = free_port()
    data = base / "pgdata"
    base.mkdir(parents=True, exist_ok=True)
    prefix: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(base, user.pw_uid, user.pw_gid)
        os.chmod(base, 0o700)
        prefix = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [
            *prefix,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "fallwatch",
            "--auth=trust",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
    )
    log = base / "pg.log"
    subprocess.run(
        [
            *prefix,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(log),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            [
                *prefix,
                str(bindir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "fallwatch",
                "fallwatch",
            ],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg://fallwatch@127.0.0.1:{port}/fallwatch"
    finally:
        subprocess.run(
            [
                *prefix,
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            capture_output=True,
            check=False,
        )


# --- `fallwatch serve` as a real process, and raw HTTP for what clients hide ---------


class ServeProcess:
    """`python -m fallwatch.cli serve` on a free port with `config_yaml` (no data_dir
    needed: one in `tmp_path` is added); stopped with SIGINT, then killed."""

    def __init__(self, tmp_path: Path, config_yaml: str = "") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = tmp_path / "fallwatch.yaml"
        self.config.write_text(f"data_dir: {tmp_path / 'data'}\n{config_yaml}")
        self.log = tmp_path / "serve.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        env = {**os.environ, **ENV}
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "fallwatch.cli", "serve"),
                    *("--config", str(self.config), "--port", str(self.port)),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + 60
        while raw_status(self.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") != 200:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"serve did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.2)
        return self

    def rss_kib(self, field: str = "VmRSS") -> int:
        """The server process's resident memory (VmRSS) or its peak (VmHWM), KiB."""
        assert self.proc is not None
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        found = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
        assert found, status
        return int(found.group(1))

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def _status_of(head: bytes) -> int:
    first = head.split(b"\r\n", 1)[0].split()
    return int(first[1]) if len(first) > 1 and first[1].isdigit() else 0


def raw_answer(port: int, request: bytes, timeout_s: float = 5.0) -> bytes:
    """Send `request` as is; what came back until the server went quiet (b"" if none)."""
    got = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as s:
            s.sendall(request)
            got = s.recv(65536)
            s.settimeout(0.3)
            while chunk := s.recv(65536):
                got += chunk
    except OSError:
        pass
    return got


def raw_status(port: int, request: bytes, timeout_s: float = 5.0) -> int:
    """Send `request` as is; the status of the answer (0 when none came)."""
    return _status_of(raw_answer(port, request, timeout_s))


def send_big_body(
    port: int, path: str, total_bytes: int, *, chunked: bool, timeout_s: float = 30.0
) -> tuple[int, int]:
    """POST `total_bytes` of JSON-ish bytes to `path`, declared in Content-Length or sent
    chunked, 1 MiB at a time, stopping as soon as an answer arrives. Returns the status
    (0 if none came) and the body bytes sent before it."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    head += (
        "Transfer-Encoding: chunked\r\n\r\n"
        if chunked
        else f"Content-Length: {total_bytes}\r\n\r\n"
    )
    block = b"[" + b"1," * (512 * 1024 - 1) + b"1"  # 1 MiB
    sent = 0
    deadline = time.monotonic() + timeout_s
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as s:
        s.sendall(head.encode())
        if not chunked:
            # As a client sending 'Expect: 100-continue' would: wait a moment for an early
            # answer before the body.
            select.select([s], [], [], 2.0)
        while time.monotonic() < deadline:
            ready, _, _ = select.select([s], [], [], 0 if sent < total_bytes else 1.0)
            if ready:
                try:
                    return _status_of(s.recv(65536)), sent
                except OSError:
                    return 0, sent
            if sent >= total_bytes:
                continue
            data = block[: total_bytes - sent]
            try:
                s.sendall(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
            except OSError:
                # The server answered and closed while this was still sending.
                ready, _, _ = select.select([s], [], [], 1.0)
                try:
                    return (_status_of(s.recv(65536)) if ready else 0), sent
                except OSError:
                    return 0, sent
            sent += len(data)
    return 0, sent
