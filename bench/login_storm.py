#!/usr/bin/env python
"""Password guessing against a real `fallwatch serve` (no cameras) on 127.0.0.1.

1. 100 wrong passwords for 'admin' from one client, one after another: the answers
   (401 while the password is checked, 429 once the name is locked), the 'login failed'
   lines in the server's log and `fallwatch_login_failures_total` in /metrics.
2. A correct login for another user from another address (127.0.0.2) during the lock.
3. N concurrent wrong logins (default 40), each from its own address (127.0.1.x) and
   user name, so no lock stops them before the password check: the answers, and the
   server's resident memory before and at its peak (VmHWM from /proc).

Usage: PYTHONPATH=. python bench/login_storm.py [--concurrent 40]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

ADMIN_PASSWORD = "admin-password-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _client(url: str, address: str = "127.0.0.1") -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=url, transport=transport, timeout=60)


def _login(client: httpx.Client, user: str, password: str) -> httpx.Response:
    page = client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert token, page.text
    form = {"username": user, "password": password, "login_csrf": token.group(1)}
    return client.post("/login", data=form, follow_redirects=False)


def _rss_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _start(tmp: Path, port: int) -> subprocess.Popen[str]:
    config = tmp / "fallwatch.yaml"
    config.write_text(f"data_dir: {tmp / 'data'}\n")
    env = {
        **os.environ,
        "FALLWATCH_ADMIN_USER": "admin",
        "FALLWATCH_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "fallwatch.cli", "serve", "--config", str(config)),
            *("--host", "127.0.0.1", "--port", str(port)),
        ],
        env=env,
        stderr=(tmp / "serve.log").open("w"),
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"the server did not start: {(tmp / 'serve.log').read_text()[-2000:]}")


def _guessing(url: str, tmp: Path) -> None:
    with _client(url) as admin:
        assert _login(admin, "admin", ADMIN_PASSWORD).status_code == 303
        admin_csrf = re.search(r'name="csrf-token" content="([^"]+)"', admin.get("/").text)
        assert admin_csrf
        user = {"username": "nurse.kim", "password": "longenough", "role": "viewer"}
        r = admin.post("/api/users", json=user, headers={"X-CSRF-Token": admin_csrf.group(1)})
        assert r.status_code == 201, r.text
    t0 = time.monotonic()
    with _client(url) as attacker:
        codes = Counter(_login(attacker, "admin", f"guess-{i}").status_code for i in range(100))
    took = time.monotonic() - t0
    logged = (tmp / "serve.log").read_text().count("login failed for user 'admin'")
    print(f"100 wrong passwords from one client in {took:.1f} s: {dict(sorted(codes.items()))}")
    print(f"  'login failed' lines in the server log: {logged}")
    with _client(url, "127.0.0.2") as nurse:
        ok = _login(nurse, "nurse.kim", "longenough").status_code
        metrics = nurse.get("/metrics").text
    print(f"  another user from 127.0.0.2 during the lock: {ok} (303 = logged in)")
    for line in metrics.splitlines():
        if line.startswith("fallwatch_login_failures_total"):
            print(f"  {line}")


def _storm(url: str, pid: int, n: int) -> None:
    codes: list[int] = []

    def attempt(i: int) -> None:
        with _client(url, f"127.0.1.{i + 1}") as c:
            codes.append(_login(c, f"user{i}", "wrong-password").status_code)

    before = _rss_mb(pid, "VmRSS")
    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(n)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - t0
    peak = _rss_mb(pid, "VmHWM")
    print(
        f"{n} concurrent wrong logins from {n} addresses in {took:.1f} s: "
        f"{dict(sorted(Counter(codes).items()))}"
    )
    print(f"  server RSS before {before:.0f} MB, peak {peak:.0f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrent", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        port = _free_port()
        proc = _start(tmp, port)
        try:
            url = f"http://127.0.0.1:{port}"
            _storm(url, proc.pid, args.concurrent)
            _guessing(url, tmp)
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
