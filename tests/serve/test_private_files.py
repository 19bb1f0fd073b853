"""The data directory is the owner's alone: 0700 folders, 0600 files, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from fallwatch.serve.live import ClipFrame
from tests.fakes.web import make_server


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
