"""Where the shared real clips are: `$FALLWATCH_DATA`, else `../shared/data` beside the repo."""

from __future__ import annotations

import os
from pathlib import Path

import fallwatch

DEFAULT_CLIP = "videos/upfall/UPFall_S1_A06_T1_Cam1.mp4"
"""A real 640x480, 18 fps clip (UP-Fall, walking) relative to `<data>/falls`."""
MANIFEST_NAME = "manifest.json"
REPO_ROOT = Path(fallwatch.__file__).resolve().parents[1]
"""The checkout holding the `fallwatch` package; the shared data sits beside it."""


class DataNotFoundError(ValueError):
    """The shared clips are not on this machine."""


def data_dir() -> Path | None:
    """The data directory holding `falls/`, or None when there is none.

    `$FALLWATCH_DATA` wins; otherwise `../shared/data` relative to the repository root
    (the checkout that holds the `fallwatch` package).
    """
    candidates = []
    env = os.environ.get("FALLWATCH_DATA")
    if env:
        candidates.append(Path(env))
    candidates.append(REPO_ROOT.parent / "shared" / "data")
    for c in candidates:
        if (c / "falls" / MANIFEST_NAME).is_file():
            return c
    return None


def _falls_dir() -> Path:
    d = data_dir()
    if d is None:
        raise DataNotFoundError(
            "no shared clips found: pass a VIDEO, or set FALLWATCH_DATA to the data "
            "directory that holds falls/manifest.json"
        )
    return d / "falls"


def default_clip() -> Path:
    path = _falls_dir() / DEFAULT_CLIP
    if not path.is_file():
        raise DataNotFoundError(f"the default clip {path} is missing: pass a VIDEO")
    return path


def default_manifest() -> Path:
    return _falls_dir() / MANIFEST_NAME
