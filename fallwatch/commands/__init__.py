"""The `fallwatch` subcommands: each module registers its parser and runs one command."""

from __future__ import annotations

EXIT_BAD_INPUT = 2


class UsageError(ValueError):
    """Bad input from the user: printed as one line, exit code 2."""
