"""`fallwatch user` against a real SQLite database: case-insensitive names, the last admin."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def fallwatch(*args: object, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fallwatch.cli", *map(str, args)],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
    )


def test_the_last_admin_is_kept_and_names_ignore_case(tmp_path: Path) -> None:
    config = tmp_path / "fallwatch.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n")
    add = ("user", "add", "Admin", "--role", "admin", "--password-stdin", "--config", config)
    assert fallwatch(*add, stdin="longenough\n").returncode == 0
    again = fallwatch("user", "add", "ADMIN", "--password-stdin", "--config", config, stdin="x" * 9)
    assert again.returncode == 2 and "already exists" in again.stderr
    for change in (("--disable",), ("--role", "viewer")):
        r = fallwatch("user", "set", "admin", *change, "--config", config)
        assert r.returncode == 2, r
        assert "last enabled admin" in r.stderr and "Traceback" not in r.stderr
    r = fallwatch("user", "delete", "ADMIN", "--config", config)
    assert r.returncode == 2 and "last enabled admin" in r.stderr
    add2 = ("user", "add", "ops", "--role", "admin", "--password-stdin", "--config", config)
    assert fallwatch(*add2, stdin="longenough\n").returncode == 0
    r = fallwatch("user", "set", "Admin", "--role", "operator", "--config", config)
    assert r.returncode == 0 and "'admin': operator, active" in r.stdout
    assert fallwatch("user", "delete", "ops", "--config", config).returncode == 2
    listed = fallwatch("user", "list", "--config", config).stdout.split()
    assert listed == ["admin", "operator", "active", "ops", "admin", "active"]
