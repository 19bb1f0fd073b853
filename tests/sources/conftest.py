"""Fixtures for capture tests; the fakes themselves are in `tests.fakes.capture`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.capture import MjpegServer


@pytest.fixture
def mjpeg_server() -> Iterator[MjpegServer]:
    server = MjpegServer().start()
    yield server
    server.stop()
