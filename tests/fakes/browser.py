"""Debian's headless Chromium under Playwright, for the browser tests (or a skip)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SOUND_ALLOWED = ("--autoplay-policy=no-user-gesture-required",)
"""The default: pages may beep without a click (the alarm tests check the sound)."""


def log_in(page: Any, url: str, user: tuple[str, str] | None = None) -> None:
    """Log in through the real login page (as the test admin unless `user` is given) and
    wait for the dashboard."""
    from tests.fakes.web import ADMIN

    name, password = user or ADMIN
    page.goto(f"{url}/", wait_until="domcontentloaded")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/", wait_until="domcontentloaded")


@contextmanager
def chromium(extra_args: Sequence[str] = SOUND_ALLOWED) -> Iterator[Any]:
    """A real headless Chromium (Debian's), or the test is skipped."""
    exe = CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium")
    if exe is None:
        pytest.skip("headless Chromium not installed: apt-get install chromium")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="pip install playwright (never 'playwright install')"
    )
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield browser
        finally:
            browser.close()


SCREENSHOT_DIR_ENV = "FALLWATCH_SCREENSHOT_DIR"
"""Where browser tests save the documentation's screenshots (docs/screenshots); unset: none."""


def screenshot(page: Any, name: str) -> Path | None:
    """Save what the page shows as `<name>.png` for the docs, when `FALLWATCH_SCREENSHOT_DIR`
    is set (`FALLWATCH_SCREENSHOT_DIR=docs/screenshots pytest -k browser` refreshes them)."""
    import os

    folder = os.environ.get(SCREENSHOT_DIR_ENV)
    if not folder:
        return None
    path = Path(folder) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    return path
