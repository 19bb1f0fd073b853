from pathlib import Path

import pytest

from fallwatch.bench.data import data_dir


@pytest.fixture
def falls_dir() -> Path:
    """`<data>/falls`; skips the test when the shared clips are not on this machine."""
    d = data_dir()
    if d is None:
        pytest.skip("shared fall clips not found: set FALLWATCH_DATA or put them in ../shared/data")
    return d / "falls"
