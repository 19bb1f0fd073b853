"""Video checks for media tests: what a file holds (read back with PyAV), whether a real
headless Chromium plays it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass(frozen=True)
class VideoProbe:
    codec: str
    pix_fmt: str | None
    width: int
    height: int
    frames: int
    fps: float
    moov_first: bool
    """MP4 index before the data (faststart): a browser starts playing before the end."""


def probe(path: Path) -> VideoProbe:
    av = pytest.importorskip("av", reason="pip install 'fallwatch[video]'")
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        ctx = stream.codec_context
        data = path.read_bytes()
        moov, mdat = data.find(b"moov"), data.find(b"mdat")
        return VideoProbe(
            codec=ctx.name,
            pix_fmt=ctx.pix_fmt,
            width=stream.width,
            height=stream.height,
            frames=frames,
            fps=float(stream.average_rate or 0),
            moov_first=0 <= moov < mdat,
        )


def video_state(page: Any, selector: str = "video", timeout_ms: int = 15_000) -> tuple[int, int]:
    """(readyState, error code or 0) of the page's video once it can play through or fails.

    readyState 4 is HAVE_ENOUGH_DATA; error 4 is MEDIA_ERR_SRC_NOT_SUPPORTED."""
    page.wait_for_function(
        "(sel) => { const v = document.querySelector(sel);"
        " return v !== null && (v.readyState === 4 || v.error !== null); }",
        arg=selector,
        timeout=timeout_ms,
    )
    state: list[int] = page.evaluate(
        "(sel) => { const v = document.querySelector(sel);"
        " return [v.readyState, v.error ? v.error.code : 0]; }",
        selector,
    )
    return state[0], state[1]
