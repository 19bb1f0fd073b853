import shutil
import tempfile
from collections.abc import Iterator
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


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL for the session (web, store and cluster tests); skips without it."""
    from tests.fakes.web import postgres_bin, run_postgres  # the server extras: only here

    if postgres_bin() is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    # Not under pytest's tmp dir: that is private to root, and PostgreSQL runs as `postgres`.
    base = Path(tempfile.mkdtemp(prefix="fallwatch-pg-"))
    try:
        yield from run_postgres(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
