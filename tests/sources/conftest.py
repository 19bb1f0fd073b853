"""Fixtures for capture tests; the fakes themselves are in capture_fakes.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from capture_fakes import MjpegServer  # type: ignore[import-not-found]


@pytest.fixture
def mjpeg_server() -> Iterator[MjpegServer]:
    server = MjpegServer().start()
    yield server
    server.stop()
