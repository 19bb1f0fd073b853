"""`fallwatch serve` as a real subprocess on a free port, and its process tree from /proc.

Used by the shutdown tests and by `bench/faults.py`: start it with a few cameras, wait
until its workers run, signal it, then check that nothing it started is left.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.fakes.capture import free_port

ADMIN = ("admin", "admin-password-1")
REPO = Path(__file__).resolve().parents[2]


def _stat(pid: int) -> tuple[str, int] | None:
    """(state letter, parent pid) of a process, None if it does not exist."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper counts as gone: it runs nothing)."""
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def descendants(root: int) -> set[int]:
    """Every live process below `root` (children, their children ...)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None and st[0] not in ("Z", "X"):
                parents[int(entry)] = st[1]
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def wait_gone(pids: set[int], timeout_s: float) -> float | None:
    """Seconds until none of `pids` runs, None if some still run after `timeout_s`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if not any(alive(p) for p in pids):
            return time.monotonic() - start
        time.sleep(0.05)
    return None if any(alive(p) for p in pids) else time.monotonic() - start


class ServeProcess:
    """One `fallwatch serve` with the given cameras, logging to `log_path`."""

    def __init__(
        self, tmp: Path, cameras: list[dict[str, Any]], workers: dict[str, Any] | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = tmp / "fallwatch.yaml"
        self.log_path = tmp / "serve.log"
        settings = {
            "data_dir": str(tmp / "data"),
            "web": {"host": "127.0.0.1", "port": self.port},
            "workers": workers or {},
            "cameras": cameras,
        }
        self.config.write_text(json.dumps(settings))  # JSON is YAML
        self.proc: subprocess.Popen[bytes] | None = None
        self._client: httpx.Client | None = None
        self.tree: set[int] = set()
        """The processes below serve when it was last found ready."""

    def start(self) -> ServeProcess:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "FALLWATCH_ADMIN_USER": ADMIN[0],
            "FALLWATCH_ADMIN_PASSWORD": ADMIN[1],
        }
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "fallwatch.cli", "serve", "--config", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=REPO,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None, "start() first"
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, workers: int, timeout_s: float = 90.0) -> set[int]:
        """Wait for /healthz and `workers` camera workers running; the process tree."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.log()
            if self._healthy() and self.running_workers() >= workers:
                self.tree = descendants(self.pid)
                return self.tree
            time.sleep(0.2)
        raise AssertionError(f"serve not ready in {timeout_s:.0f} s:\n{self.log()}")

    def _healthy(self) -> bool:
        try:
            return httpx.get(self.url + "/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def running_workers(self) -> int:
        cams = self.api("/api/cameras")
        return sum(1 for c in cams if c["worker"] == "running")

    def api(self, path: str) -> Any:
        """GET an API path as the admin (logs in once)."""
        if self._client is None:
            client = httpx.Client(base_url=self.url, timeout=10)
            page = client.get("/login")
            m = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
            assert m, page.text
            form = {"username": ADMIN[0], "password": ADMIN[1], "login_csrf": m.group(1)}
            assert client.post("/login", data=form).status_code in (200, 303)
            self._client = client
        r = self._client.get(path)
        r.raise_for_status()
        return r.json() if r.headers["content-type"].startswith("application/json") else r.text

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def close(self) -> None:
        """Kill whatever is left (after a failed test)."""
        if self._client is not None:
            self._client.close()
        if self.proc is None:
            return
        left = self.tree | (descendants(self.pid) if self.proc.poll() is None else set())
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        for pid in left:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
