"""Passwords (argon2id), API tokens (random, stored as SHA-256), signed session cookies, CSRF.

A session cookie is `payload.signature`: the payload names the user, the user's
`session_version` (bumped on password change, disabling, 'log out everywhere'), a random
nonce and an expiry (renewed, same nonce, once more than half of it has passed while
the user is active: `renewed`); the signature is HMAC-SHA256 with the server's secret key. The
server keeps each session as a row named by the nonce's SHA-256 (`serve.auth`): logging
out deletes it, so a copy of the cookie stops working too.

CSRF: every unsafe request authenticated by the cookie must carry a token derived from
the session nonce (`X-CSRF-Token` header from scripts, `csrf_token` field from forms).
Requests with an API token are not cookie-driven, so they need none.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

TOKEN_PREFIX = "fw_"
MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()
# Verifying against this when the user does not exist takes as long as a real check,
# so response times do not tell which user names exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(
            f"a password needs at least {MIN_PASSWORD_LENGTH} characters, got {len(password)}"
        )
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    """(matches, new hash when the stored one uses outdated parameters, else None)."""
    try:
        _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if password_hash is None:
        return False, None
    return True, _hasher.hash(password) if _hasher.check_needs_rehash(password_hash) else None


def new_api_token() -> tuple[str, str, str]:
    """(token shown once, its SHA-256 hex for the database, a display prefix)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token_hash(token), token[:10]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def load_or_create_secret_key(path: Path) -> bytes:
    """The data directory's session key, created (mode 0600) on first start."""
    if path.is_file():
        key = path.read_bytes().strip()
        if len(key) >= 32:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.write_bytes(key)
    tmp.replace(path)
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class SessionData:
    user_id: int
    version: int
    nonce: str
    expires_at: float


class SessionSigner:
    def __init__(self, key: bytes, max_age_s: int) -> None:
        self.key = key
        self.max_age_s = max_age_s

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self.key, payload.encode(), hashlib.sha256).digest())

    def issue(
        self, user_id: int, version: int, now: float | None = None
    ) -> tuple[str, SessionData]:
        now = time.time() if now is None else now
        data = SessionData(user_id, version, secrets.token_urlsafe(16), now + self.max_age_s)
        return self.encode(data), data

    def encode(self, data: SessionData) -> str:
        """The signed cookie for `data`."""
        payload = _b64(
            json.dumps(
                {"u": data.user_id, "v": data.version, "n": data.nonce, "e": int(data.expires_at)}
            ).encode()
        )
        return f"{payload}.{self._sign(payload)}"

    def renewed(self, data: SessionData, now: float | None = None) -> SessionData | None:
        """The session with a full lifetime again, when more than half of it has passed
        (a page in use keeps its login); None while it is younger. The nonce, and with it
        the row and the CSRF token, stays the same."""
        now = time.time() if now is None else now
        if data.expires_at - now > self.max_age_s / 2:
            return None
        return dataclasses.replace(data, expires_at=now + self.max_age_s)

    def read(self, cookie: str, now: float | None = None) -> SessionData | None:
        """The session in a cookie, or None when it is forged, malformed or expired."""
        now = time.time() if now is None else now
        payload, _, signature = cookie.partition(".")
        if not payload or not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            raw = json.loads(_unb64(payload))
            data = SessionData(int(raw["u"]), int(raw["v"]), str(raw["n"]), float(raw["e"]))
        except (ValueError, KeyError, TypeError):
            return None
        return data if data.expires_at > now else None

    def csrf_token(self, session: SessionData) -> str:
        return _b64(hmac.new(self.key, f"csrf:{session.nonce}".encode(), hashlib.sha256).digest())

    def check_csrf(self, session: SessionData, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(token or "", self.csrf_token(session))
