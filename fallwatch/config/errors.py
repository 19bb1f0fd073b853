"""Config errors, and the one way a pydantic validation error is told to a person.

Every config problem reaches the user as one line naming the field and the problem:
`cameras[ward-1].fall.confirm_s: Input should be greater than 0`. The config file loader
and the CLI (settings built from command-line options) both format through here.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


class ConfigError(ValueError):
    """A config that cannot be used; the message is one line naming field and problem."""


def field_name(loc: tuple[Any, ...], data: Any = None) -> str:
    """`cameras[ward-1].fall.confirm_s` from `('cameras', 0, 'fall', 'confirm_s')`;
    `data` (the validated input, if known) lets list items be named by their id."""
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            label = str(part)
            item = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                label = item["id"]  # a camera is easier to find by id than by position
            out += f"[{label}]"
            node = item
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out or "(top level)"


def format_validation_error(
    exc: ValidationError, data: Any = None, under: tuple[str, ...] = ()
) -> str:
    """One line: each bad field and its problem, `; `-separated. `under`: where the
    validated model sits in `data` (`("notify",)` for the notify section of a file)."""
    parts = []
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{field_name((*under, *err['loc']), data)}: {msg}")
    return "; ".join(parts)
