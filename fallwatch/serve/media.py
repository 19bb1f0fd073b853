"""Snapshots and clips on disk under `<data_dir>/media`, with retention limits.

Layout: `media/<camera_id>/<YYYY-MM-DD>/<HHMMSS-mmm>.jpg` and the clip next to it. Clips
are H.264 in MP4 (`fallwatch[video]`, which `server` includes), else WebM/VP8 through
OpenCV: every browser plays the first, desktop browsers the second.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from fallwatch.config.server import RecordingConfig
from fallwatch.serve.live import ClipFrame
from fallwatch.sources.writer import browser_clip_suffix, open_video_writer

log = logging.getLogger(__name__)

CLIP_SUFFIXES = (".mp4", ".webm")
MEDIA_SUFFIXES = (".jpg", *CLIP_SUFFIXES)


PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def _tighten(path: Path, mode: int) -> None:
    if stat.S_IMODE(path.stat().st_mode) != mode:
        path.chmod(mode)


class MediaStore:
    def __init__(self, root: Path, config: RecordingConfig) -> None:
        self.root = root.resolve()
        self.config = config
        self.root.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        _tighten(self.root, PRIVATE_DIR_MODE)

    def base_path(self, camera_id: str, captured_at: float) -> Path:
        when = datetime.fromtimestamp(captured_at, UTC)
        folder = self.root / camera_id / when.strftime("%Y-%m-%d")
        # 0700 folders, 0600 files: these are pictures of people on the floor.
        (self.root / camera_id).mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
        folder.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
        stem = when.strftime("%H%M%S-") + f"{when.microsecond // 1000:03d}"
        path = folder / stem
        n = 1
        while any(path.with_suffix(s).exists() for s in MEDIA_SUFFIXES):
            n += 1  # two events in the same millisecond (two people)
            path = folder / f"{stem}-{n}"
        return path

    def save_snapshot(self, base: Path, jpeg: bytes) -> Path:
        path = base.with_suffix(".jpg")
        tmp = path.with_suffix(".jpg.tmp")
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, PRIVATE_FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            f.write(jpeg)
        os.replace(tmp, path)  # readers never see half a file
        return path

    def clip_path(self, base: Path) -> Path:
        """Where the clip of the event at `base` goes: `.mp4` (H.264) or `.webm` (VP8)."""
        return base.with_suffix(browser_clip_suffix())

    def write_clip(self, path: Path, frames: Sequence[ClipFrame]) -> Path | None:
        """Encode `frames` (annotated JPEGs, oldest first) in the format `path`'s suffix
        names (see `clip_path`); None when there are fewer than two."""
        images = [cv2.imdecode(np.frombuffer(f.jpeg, np.uint8), cv2.IMREAD_COLOR) for f in frames]
        pairs = [(f, im) for f, im in zip(frames, images, strict=True) if im is not None]
        if len(pairs) < 2:
            log.warning("clip %s: fewer than 2 frames, not written", path.name)
            return None
        span = pairs[-1][0].captured_at - pairs[0][0].captured_at
        fps = max(1.0, min(30.0, (len(pairs) - 1) / span)) if span > 0 else 5.0
        h, w = pairs[0][1].shape[:2]
        tmp = path.with_name(path.stem + ".tmp" + path.suffix)
        try:
            writer = open_video_writer(tmp, fps, (w, h))
        except ValueError as exc:
            log.error("clip %s: %s", path, exc)
            return None
        try:
            for _, image in pairs:
                writer.write(image)
        finally:
            writer.close()
        _tighten(tmp, PRIVATE_FILE_MODE)  # the encoder creates it with the umask's mode
        os.replace(tmp, path)
        return path

    def contains(self, path: Path | str) -> Path | None:
        """`path` resolved if it is a file inside the media root, else None (never serve others)."""
        p = Path(path).resolve()
        if not p.is_relative_to(self.root) or not p.is_file():
            return None
        return p

    def enforce_retention(self, now: float | None = None) -> int:
        """Delete media older than retention_days, then the oldest beyond max_total_mb."""
        now = time.time() if now is None else now
        max_age_s = self.config.retention_days * 86400
        files = []
        removed = 0
        for path in self.root.rglob("*"):
            if not path.is_file() or path.suffix not in MEDIA_SUFFIXES:
                continue
            st = path.stat()
            if now - st.st_mtime > max_age_s:
                path.unlink(missing_ok=True)
                removed += 1
            else:
                files.append((st.st_mtime, st.st_size, path))
        budget = self.config.max_total_mb * 1024 * 1024
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= budget:
                break
            path.unlink(missing_ok=True)
            total -= size
            removed += 1
        for folder in sorted(self.root.rglob("*"), reverse=True):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        if removed:
            log.info("media retention: %d file(s) deleted", removed)
        return removed
