"""Camera passwords at rest: sealed with a key derived from the server's secret key.

A camera added through the UI or API keeps its stream URL in the database. The row holds
the URL with the password replaced by `***`, and beside it the whole URL sealed with
Fernet (AES-128-CBC and HMAC-SHA256, from `cryptography`), whose key is derived
(HKDF-SHA256) from `web.secret_key` or `<data_dir>/secret_key`. A database copy, dump
or backup, or a PostgreSQL server elsewhere, holds no password in clear; the worker gets
the opened URL in memory. A URL sealed under another secret key cannot be opened: the
camera then runs with the password hidden (`***`), fails to log in, and its stored URL
must be entered again.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"fallwatch camera credentials v1"


class SealError(ValueError):
    """A sealed value that this server's key cannot open (another key, or corrupted)."""


class CredentialBox:
    """Seals and opens short secrets with a key derived from the server's secret key."""

    def __init__(self, secret_key: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret_key)
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode("ascii")

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, ValueError):
            raise SealError(
                "the stored camera URL was sealed with another secret key (web.secret_key "
                "or data_dir/secret_key changed): enter its URL again"
            ) from None
