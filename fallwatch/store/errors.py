"""The store's two errors, whatever the entity (the web layer maps them to HTTP codes)."""

from __future__ import annotations


class NotFound(LookupError):
    """No row with that key (the web layer turns this into a 404)."""


class Conflict(ValueError):
    """The change clashes with what is stored (the web layer turns this into a 409)."""
