"""The `fallwatch` subcommands: each module registers its parser and runs one command."""

from __future__ import annotations

EXIT_BAD_INPUT = 2


class UsageError(ValueError):
    """Bad input from the user: printed as one line, exit code 2."""


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
