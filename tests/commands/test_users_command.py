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


# --- no terminal: passwords from stdin or a file, one-line errors, never a traceback ---


def fallwatch_no_stdin(*args: object, closed: bool = False) -> subprocess.CompletedProcess[str]:
    """The CLI with stdin on /dev/null, or closed altogether (`<&-` in a shell)."""
    cmd = [sys.executable, "-m", "fallwatch.cli", *map(str, args)]
    if closed:
        return subprocess.run(
            ["sh", "-c", 'exec "$@" <&-', "sh", *cmd], capture_output=True, text=True, timeout=120
        )
    return subprocess.run(
        cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120
    )


def _one_line_error(r: subprocess.CompletedProcess[str], text: str) -> None:
    assert r.returncode == 2, r
    assert "Traceback" not in r.stderr and "Error:" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fallwatch: error:") and text in lines[0], lines


def test_without_a_terminal_the_password_comes_from_stdin_or_a_file(tmp_path: Path) -> None:
    config = tmp_path / "fallwatch.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n")
    for closed in (False, True):
        r = fallwatch_no_stdin("user", "add", "bob", "--config", config, closed=closed)
        _one_line_error(r, "--password-stdin")
        r = fallwatch_no_stdin("user", "passwd", "bob", "--config", config, closed=closed)
        _one_line_error(r, "--password-file PATH")
    r = fallwatch_no_stdin("user", "add", "bob", "--password-stdin", "--config", config)
    _one_line_error(r, "no password in standard input")
    r = fallwatch_no_stdin(
        "user", "add", "bob", "--password-stdin", "--config", config, closed=True
    )
    _one_line_error(r, "standard input is closed")
    r = fallwatch("user", "add", "bob", "--password-stdin", "--config", config, stdin="short\n")
    _one_line_error(r, "at least 8 characters")
    r = fallwatch_no_stdin(
        "user", "add", "bob", "--password-file", tmp_path / "no", "--config", config
    )
    _one_line_error(r, "No such file")
    # Nothing was stored by the refused attempts.
    assert fallwatch("user", "list", "--config", config).stdout.strip() == ""
    secret = tmp_path / "pw"
    secret.write_text("from-a-file-1\n")
    r = fallwatch_no_stdin(
        "user", "add", "bob", "--role", "admin", "--password-file", secret, "--config", config
    )
    assert r.returncode == 0 and "'bob' added with role admin" in r.stdout, r
    r = fallwatch(
        "user", "passwd", "bob", "--password-stdin", "--config", config, stdin="new-pass-2\n"
    )
    assert r.returncode == 0 and "sessions have ended" in r.stdout, r


def test_disable_enable_remove_and_token_list_revoke(tmp_path: Path) -> None:
    config = tmp_path / "fallwatch.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n")
    for name, role in (("boss", "admin"), ("ann", "viewer")):
        add = ("user", "add", name, "--role", role, "--password-stdin", "--config", config)
        assert fallwatch(*add, stdin="longenough\n").returncode == 0
    r = fallwatch("user", "disable", "ANN", "--config", config)
    assert r.returncode == 0 and "'ann': viewer, disabled" in r.stdout, r
    r = fallwatch("user", "enable", "ann", "--config", config)
    assert r.returncode == 0 and "'ann': viewer, active" in r.stdout, r
    _one_line_error(fallwatch("user", "disable", "boss", "--config", config), "last enabled admin")
    r = fallwatch("user", "remove", "ann", "--config", config)
    assert r.returncode == 0 and "removed" in r.stdout, r
    _one_line_error(fallwatch("user", "remove", "ann", "--config", config), "no user named 'ann'")

    first = fallwatch("token", "create", "prometheus", "--config", config).stdout.strip()
    second = fallwatch("token", "create", "prometheus", "--config", config).stdout.strip()
    fallwatch("token", "create", "grafana", "--role", "operator", "--config", config)
    listed = fallwatch("token", "list", "--config", config)
    assert listed.returncode == 0 and first not in listed.stdout and second not in listed.stdout
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert [(r[0], r[1], r[3]) for r in rows] == [
        ("1", "prometheus", "viewer"),
        ("2", "prometheus", "viewer"),
        ("3", "grafana", "operator"),
    ]
    assert rows[0][2] == first[: len(rows[0][2]) - 1] + "…"
    _one_line_error(fallwatch("token", "revoke", "prometheus", "--config", config), "give the id")
    r = fallwatch("token", "revoke", "grafana", "--config", config)
    assert r.returncode == 0 and "token 3 'grafana' revoked" in r.stdout, r
    assert fallwatch("token", "revoke", "1", "--config", config).returncode == 0
    r = fallwatch("token", "revoke", "prometheus", "--config", config)
    assert r.returncode == 0 and "token 2 'prometheus' revoked" in r.stdout, r
    _one_line_error(fallwatch("token", "revoke", "99", "--config", config), "no active API token")
    assert "no active API tokens" in fallwatch("token", "list", "--config", config).stdout
    everything = fallwatch("token", "list", "--all", "--config", config).stdout
    assert everything.count("revoked") == 3


def test_config_check_takes_config_or_the_environment(tmp_path: Path) -> None:
    import os

    config = tmp_path / "site.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n")
    env = {**os.environ, "FALLWATCH_CONFIG": str(config)}
    cli = [sys.executable, "-m", "fallwatch.cli", "config", "check"]
    for extra, environ in (([str(config)], None), (["--config", str(config)], None), ([], env)):
        r = subprocess.run(
            [*cli, *extra],
            capture_output=True,
            text=True,
            timeout=120,
            env=environ,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
        )
        assert r.returncode == 0 and f"{config}: ok" in r.stdout, (extra, r)
    r = subprocess.run(
        [*cli],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "FALLWATCH_CONFIG"},
    )
    _one_line_error(r, "fallwatch.yaml")
    r = subprocess.run(
        [*cli, "other.yaml", "--config", str(config)], capture_output=True, text=True, timeout=120
    )
    _one_line_error(r, "two config files")
