"""`fallwatch config check` and `fallwatch serve` start-up checks, through the real CLI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.capture import free_port, write_video

REPO = Path(__file__).resolve().parents[2]


def fallwatch(*args: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "fallwatch.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
        env=env,
    )


def config_file(tmp_path: Path, camera: str, data_dir: str | Path = "data") -> Path:
    path = tmp_path / "fallwatch.yaml"
    path.write_text(f"data_dir: {data_dir}\ncameras:\n  - {camera}\n")
    return path


def one_line_error(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    err = r.stderr.strip()
    assert err.count("\n") == 0, err
    return err


def test_check_accepts_a_readable_video_and_a_writable_data_dir(tmp_path: Path) -> None:
    write_video(tmp_path / "clip.avi")
    r = fallwatch("config", "check", str(config_file(tmp_path, "{id: ward-1, path: clip.avi}")))
    assert r.returncode == 0, r.stderr
    assert "1 camera(s)" in r.stdout
    assert not (tmp_path / "data").exists()  # checking creates nothing


def test_check_names_a_missing_camera_file(tmp_path: Path) -> None:
    r = fallwatch("config", "check", str(config_file(tmp_path, "{id: ward-1, path: gone.mp4}")))
    err = one_line_error(r)
    assert "cameras[0].path (camera 'ward-1')" in err and "no such file" in err


def test_check_names_a_camera_file_that_is_not_a_video(tmp_path: Path) -> None:
    (tmp_path / "notes.mp4").write_text("this is not a video\n" * 100)
    r = fallwatch("config", "check", str(config_file(tmp_path, "{id: ward-1, path: notes.mp4}")))
    err = one_line_error(r)
    assert "cameras[0].path (camera 'ward-1')" in err and "notes.mp4" in err


@pytest.mark.parametrize("data_dir", ["/proc/fallwatch-data", "/proc"])
def test_check_names_an_unwritable_data_dir(tmp_path: Path, data_dir: str) -> None:
    write_video(tmp_path / "clip.avi")
    path = config_file(tmp_path, "{id: ward-1, path: clip.avi}", data_dir)
    err = one_line_error(fallwatch("config", "check", str(path)))
    assert err.startswith("fallwatch: error: data_dir: ") and data_dir in err


def test_check_calls_a_bow_tie_zone_self_intersecting(tmp_path: Path) -> None:
    write_video(tmp_path / "clip.avi")
    zone = "{polygon_xy: [[0, 0], [100, 100], [100, 0], [0, 100]]}"
    path = config_file(tmp_path, f"{{id: ward-1, path: clip.avi, fall: {{zones: [{zone}]}}}}")
    err = one_line_error(fallwatch("config", "check", str(path)))
    assert "self-intersecting" in err and "collinear" not in err


def test_serve_names_an_unwritable_data_dir(tmp_path: Path) -> None:
    write_video(tmp_path / "clip.avi")
    path = config_file(tmp_path, "{id: ward-1, path: clip.avi}", "/proc/fallwatch-data")
    r = fallwatch("serve", "--config", str(path), "--port", str(free_port()))
    err = one_line_error(r)
    assert "data_dir: " in err and "/proc/fallwatch-data" in err


def test_serve_refuses_a_port_in_use_before_starting_any_worker(tmp_path: Path) -> None:
    write_video(tmp_path / "clip.avi")
    path = config_file(tmp_path, "{id: ward-1, path: clip.avi, loop: true}")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = fallwatch("serve", "--config", str(path), "--port", str(port))
    err = one_line_error(r)
    assert f"web.port: 127.0.0.1:{port} is already in use" in err
    # Nothing started: no worker, no dashboard line, no database.
    assert "dashboard on" not in r.stderr and "worker" not in r.stderr.lower()
    assert not (tmp_path / "data").exists()
