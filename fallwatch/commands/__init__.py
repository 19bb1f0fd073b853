"""The `fallwatch` subcommands: each module registers its parser and runs one command."""

from __future__ import annotations

import os
from pathlib import Path

EXIT_BAD_INPUT = 2


class UsageError(ValueError):
    """Bad input from the user: printed as one line, exit code 2."""


def check_output_file(path: Path | None, option: str) -> None:
    """Refuses an output file that cannot be written (a directory, a folder that cannot be
    made or written) before the minutes of work that would end in writing it."""
    if path is None:
        return
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a directory, give a file name")
    _check_writable_dir(path.parent, option, path)


def check_output_dir(path: Path | None, option: str) -> None:
    """Refuses an output folder that is a file or cannot be made or written."""
    if path is None:
        return
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path}: not a directory")
    _check_writable_dir(path, option, path)


def _check_writable_dir(directory: Path, option: str, given: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{option} {given}: cannot make {directory}: {exc.strerror}") from exc
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {given}: cannot write in {directory}")


EXTRA_OF_MODULE: dict[str, str] = {
    "fastapi": "server",
    "starlette": "server",
    "uvicorn": "server",
    "jinja2": "server",
    "argon2": "server",
    "cryptography": "server",
    "prometheus_client": "server",
    "multipart": "server",
    "sqlalchemy": "notify",
    "alembic": "notify",
    "httpx": "notify",
    "paho": "notify",
    "apprise": "notify",
    "matplotlib": "eval",
    "tqdm": "eval",
    "onnxruntime": "yolo",
    "psycopg": "postgres",
}
"""Top-level module -> the `fallwatch[...]` extra that installs it (pyproject.toml)."""


def missing_extra(exc: ModuleNotFoundError) -> str | None:
    """The extra whose module `exc` could not import, or None when it is not an extra's."""
    name = (exc.name or "").split(".")[0]
    return EXTRA_OF_MODULE.get(name)
