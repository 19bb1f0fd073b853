"""Fixtures for the evaluation tests: the shared clips. Builders are in `tests.fakes.evaluation`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.evaluation import find_falls_data


@pytest.fixture(scope="session")
def falls_data() -> Path:
    falls = find_falls_data()
    if falls is None:
        pytest.skip(
            "real clips not found: set FALLWATCH_DATA to the folder holding falls/manifest.json "
            "(or put it at ../shared/data next to the repo)"
        )
    return falls


@pytest.fixture(scope="session")
def falls_manifest(falls_data: Path) -> dict[str, Any]:
    return json.loads((falls_data / "manifest.json").read_text())
