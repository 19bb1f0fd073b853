"""The command line's own manners: version, help, a closed pipe, quiet libraries, hints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fallwatch import __version__

CLI = [sys.executable, "-m", "fallwatch.cli"]


def run(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=300)


def test_version() -> None:
    r = run("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"fallwatch {__version__}"


def test_help_says_what_the_product_is_and_how_to_get_a_commands_options() -> None:
    r = run("--help")
    assert r.returncode == 0
    assert "collapsed" in r.stdout and "COMMAND --help" in r.stdout


def test_a_reader_that_closes_the_pipe_gets_no_traceback() -> None:
    # `fallwatch config schema | head -1`: the schema is far longer than a pipe buffer.
    proc = subprocess.Popen(
        [*CLI, "config", "schema"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().strip() == "{"
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_a_closed_stdout_is_not_an_error() -> None:
    """`fallwatch config schema >&-` (a service script closing its output): Python has no
    sys.stdout then, and the print was an "unexpected error: AttributeError"."""
    cmd = " ".join(f"'{part}'" for part in [*CLI, "config", "schema"]) + " >&-"
    r = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""


def test_user_commands_do_not_print_the_migration_tool_s_log(tmp_path: Path) -> None:
    config = tmp_path / "fallwatch.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\ncameras: []\n")
    r = run("user", "list", "--config", config)
    assert r.returncode == 0, r.stderr
    assert "alembic" not in r.stderr, r.stderr


def test_a_fall_clip_shorter_than_the_confirm_time_gets_a_hint(
    falls_dir: Path, tmp_path: Path
) -> None:
    # 7.9 s of UP-Fall with the person down from 3.5 s: never 10 s down, so no alert.
    clip = falls_dir / "videos/upfall/UPFall_S1_A01_T1_Cam2.mp4"
    r = run("analyze", clip, "--no-video", "--no-progress", "--report", tmp_path / "r.json")
    assert r.returncode == 0, r.stderr
    assert "0 alert(s)" in r.stdout
    assert "hint: someone was down for up to" in r.stderr and "--confirm-s" in r.stderr


def test_analyze_help_quotes_the_real_defaults() -> None:
    from fallwatch.config.fall import FallConfig

    r = run("analyze", "--help")
    text = " ".join(r.stdout.split())
    assert f"(default {FallConfig().found_down_s:g})" in text
    assert f"(default {FallConfig().confirm_s:g})" in text
