"""The data directory is the owner's alone: 0700 folders, 0600 files, whatever the umask."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from fallwatch.config.server import CameraConfig
from fallwatch.serve.live import ClipFrame
from fallwatch.store import cameras as repo
from fallwatch.types import CameraOrigin
from fallwatch.web.app import create_app
from tests.fakes.web import login, make_server


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def jpeg(level: int) -> bytes:
    return cv2.imencode(".jpg", np.full((48, 64, 3), level, np.uint8))[1].tobytes()


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_data_dir_database_and_media_are_private(tmp_path: Path, umask_022: None) -> None:
    server = make_server(tmp_path)
    try:
        server.start(run_workers=False)
        data = tmp_path / "data"
        assert mode(data) == 0o700
        db = data / "fallwatch.db"
        assert mode(db) == 0o600
        for side in (data / "fallwatch.db-wal", data / "fallwatch.db-shm"):
            if side.exists():
                assert mode(side) == 0o600, side
        assert mode(data / "secret_key") == 0o600
        media = server.media
        assert mode(media.root) == 0o700
        base = media.base_path("ward-1", 1_700_000_000.25)
        assert mode(base.parent) == 0o700 and mode(base.parent.parent) == 0o700
        assert mode(media.save_snapshot(base, jpeg(100))) == 0o600
        frames = [ClipFrame(1000.0 + i / 5, jpeg(i * 20)) for i in range(5)]
        clip = media.write_clip(base.with_suffix(".webm"), frames)
        assert clip is not None and mode(clip) == 0o600
    finally:
        server.stop()


def test_an_existing_wide_open_data_dir_is_tightened(tmp_path: Path, umask_022: None) -> None:
    data = tmp_path / "data"
    (data / "media").mkdir(parents=True)
    data.chmod(0o755)
    (data / "media").chmod(0o755)
    (data / "fallwatch.db").touch(mode=0o644)
    server = make_server(tmp_path)
    try:
        assert mode(data) == 0o700 and mode(data / "media") == 0o700
        assert mode(data / "fallwatch.db") == 0o600
    finally:
        server.stop()


PASSWORD = "Pa55-w0rd-in-clear"


def database_bytes(data: Path) -> bytes:
    """Every byte SQLite keeps on disk for the database (the WAL holds recent commits)."""
    return b"".join(
        p.read_bytes() for p in data.glob("fallwatch.db*") if p.is_file() and p.stat().st_size
    )


def test_api_camera_passwords_are_sealed_at_rest_and_never_returned(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    url = f"rtsp://admin:{PASSWORD}@10.0.0.5/stream1"
    try:
        server.start(run_workers=False)
        with TestClient(create_app(server), base_url="http://127.0.0.1") as client:
            headers = {"X-CSRF-Token": login(client)}
            r = client.post("/api/cameras", json={"id": "ward-9", "url": url}, headers=headers)
            assert r.status_code == 201, r.text
            r = client.patch("/api/cameras/ward-9", json={"name": "Ward 9"}, headers=headers)
            assert r.status_code == 200, r.text
            for answer in (r, client.get("/api/cameras/ward-9"), client.get("/api/cameras")):
                assert PASSWORD not in answer.text
            assert client.get("/api/cameras/ward-9").json()["source"] == (
                "rtsp://admin:***@10.0.0.5/stream1"
            )
        assert server.cameras.get("ward-9").config.url == url  # the worker gets it
    finally:
        server.stop()
    assert PASSWORD.encode() not in database_bytes(tmp_path / "data")
    # A restart opens it again with the same secret key.
    server = make_server(tmp_path)
    try:
        server.start(run_workers=False)
        assert server.cameras.get("ward-9").config.url == url
    finally:
        server.stop()


def test_a_password_stored_in_clear_before_is_sealed_at_start(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    url = f"http://cam:{PASSWORD}@10.0.0.7/video.mjpg"
    camera = CameraConfig(id="ward-2", url=url)
    with server.sessions.begin() as session:
        repo.add_camera(
            session,
            "ward-2",
            camera.model_dump_json(),
            origin=CameraOrigin.API,
            now=datetime.now(UTC),
        )
    server.engine.dispose()
    assert PASSWORD.encode() in database_bytes(tmp_path / "data")
    server = make_server(tmp_path)
    try:
        server.start(run_workers=False)
        assert server.cameras.get("ward-2").config.url == url
        with server.sessions() as session:
            stored = repo.get_camera(session, "ward-2").config_json
        assert PASSWORD not in stored and "cam:***@10.0.0.7" in stored
    finally:
        server.stop()
    with sqlite3.connect(tmp_path / "data" / "fallwatch.db") as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("VACUUM")
    assert PASSWORD.encode() not in database_bytes(tmp_path / "data")
