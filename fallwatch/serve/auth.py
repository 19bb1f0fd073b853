"""Users, logins and API tokens: the rules, on top of `store.users` and `security`.

A login is checked against the throttle first (a locked user name or address costs no
password check), then in one of a few password-check slots; each failure is logged (user
name, client address, never the password) and counted. A successful login is a server-side
session row: logging out deletes it, so a copied cookie stops working at once. A session
in use slides: past half its age, a request renews the row and the cookie. An API
token created by a user works only while that user is enabled, with the lesser of the
token's and the user's current role.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from fallwatch.config.server import LoginConfig
from fallwatch.serve.counters import ServerCounters
from fallwatch.serve.security import (
    SessionData,
    SessionSigner,
    hash_password,
    new_api_token,
    token_hash,
    verify_password,
)
from fallwatch.serve.throttle import Busy, HashGate, LoginThrottle
from fallwatch.store import users as repo
from fallwatch.store.errors import NotFound
from fallwatch.store.users import TokenView, UserView
from fallwatch.types import Role

log = logging.getLogger(__name__)

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$"
_USERNAME = re.compile(USERNAME_PATTERN)


@dataclass(frozen=True)
class Principal:
    """Who is making a request: a logged-in user or an API token."""

    name: str
    role: Role
    user_id: int | None
    via_token: bool
    session: SessionData | None = None
    locale: str | None = None
    """The user's language for the pages; None: the server's default (API tokens too)."""

    def allows(self, role: Role) -> bool:
        return self.role.allows(role)


@dataclass(frozen=True)
class LoginResult:
    """A session cookie, or why there is none (and when to try again)."""

    cookie: str | None
    failure: str | None = None
    """'wrong_password', 'unknown_user', 'disabled', 'throttled' or 'busy'."""
    retry_after_s: float = 0.0


class AuthService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        *,
        signer: SessionSigner | None = None,
        login: LoginConfig | None = None,
        counters: ServerCounters | None = None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.signer = signer
        config = login or LoginConfig()
        self.throttle = LoginThrottle(config)
        self.gate = HashGate(config.hash_concurrency, config.hash_wait_s)
        self.counters = counters

    # --- users -----------------------------------------------------------------------

    def add_user(self, username: str, password: str, role: Role) -> UserView:
        if not _USERNAME.match(username):
            raise ValueError(
                f"user name {username!r}: letters, digits and _ . @ - only, 1 to 64 characters"
            )
        hashed = hash_password(password)
        with self.sessions.begin() as session:
            return repo.add_user(session, username, hashed, role, now=self.clock())

    def ensure_admin(self, env: Mapping[str, str]) -> UserView | None:
        """First start: create the admin from FALLWATCH_ADMIN_USER / FALLWATCH_ADMIN_PASSWORD."""
        with self.sessions.begin() as session:
            if repo.count_users(session):
                return None
        user, password = (
            env.get("FALLWATCH_ADMIN_USER"),
            env.get("FALLWATCH_ADMIN_PASSWORD"),
        )
        if not user or not password:
            log.warning(
                "no users yet: set FALLWATCH_ADMIN_USER and FALLWATCH_ADMIN_PASSWORD, or run "
                "'fallwatch user add NAME --role admin', to be able to log in"
            )
            return None
        view = self.add_user(user, password, Role.ADMIN)
        log.info("created admin user %r from the environment", view.username)
        return view

    def list_users(self) -> list[UserView]:
        with self.sessions.begin() as session:
            return repo.list_users(session)

    def user_id(self, username: str) -> int:
        with self.sessions.begin() as session:
            user = repo.find_user(session, username)
            if user is None:
                raise NotFound(f"no user named {username!r}")
            return user.id

    def update_user(
        self,
        user_id: int,
        *,
        role: Role | None = None,
        disabled: bool | None = None,
        password: str | None = None,
    ) -> UserView:
        hashed = hash_password(password) if password is not None else None
        with self.sessions.begin() as session:
            now = self.clock()
            if hashed is not None:
                repo.set_password(session, user_id, hashed, now=now)
            return repo.update_user(session, user_id, role=role, disabled=disabled, now=now)

    def set_locale(self, user_id: int, locale: str | None) -> UserView:
        with self.sessions.begin() as session:
            return repo.set_locale(session, user_id, locale)

    def delete_user(self, user_id: int) -> None:
        with self.sessions.begin() as session:
            repo.delete_user(session, user_id, now=self.clock())

    def set_password(self, username: str, password: str) -> None:
        self.update_user(self.user_id(username), password=password)

    # --- logins ----------------------------------------------------------------------

    def login(self, username: str, password: str, address: str) -> LoginResult:
        """A new session when the password matches and the account is enabled."""
        if self.signer is None:
            raise RuntimeError("AuthService needs a SessionSigner to log users in")
        wait = self.throttle.retry_after(username, address)
        if wait > 0:
            return self._failed(username, address, "throttled", wait)
        try:
            with self.gate.slot():
                with self.sessions.begin() as session:
                    user = repo.find_user(session, username)
                    stored = (user.password_hash, user.id) if user else None
                ok, rehashed = verify_password(stored[0] if stored else None, password)
        except Busy:
            return self._failed(username, address, "busy", 1.0)
        if stored is None or not ok:
            self.throttle.failed(username, address)
            reason = "unknown_user" if stored is None else "wrong_password"
            return self._failed(username, address, reason, 0.0)
        with self.sessions.begin() as session:
            user = repo.get_user(session, stored[1])
            if user.disabled:
                self.throttle.failed(username, address)
                return self._failed(username, address, "disabled", 0.0)
            now = self.clock()
            repo.record_login(session, user.id, now=now, rehashed=rehashed)
            cookie, data = self.signer.issue(user.id, user.session_version, now.timestamp())
            expires = datetime.fromtimestamp(data.expires_at, UTC)
            repo.add_session(session, token_hash(data.nonce), user.id, now=now, expires_at=expires)
        self.throttle.succeeded(username)
        log.info("user %r logged in from %s", user.username, address)
        return LoginResult(cookie)

    def _failed(self, username: str, address: str, reason: str, retry_s: float) -> LoginResult:
        log.warning("login failed for user %r from %s: %s", username, address, reason)
        if self.counters is not None:
            self.counters.count_login_failure(reason)
        return LoginResult(None, reason, retry_s)

    def session_principal(self, data: SessionData) -> Principal | None:
        with self.sessions.begin() as session:
            row = repo.find_session(session, token_hash(data.nonce), now=self.clock())
            if row is None or row.user_id != data.user_id:
                return None
            try:
                user = repo.get_user(session, data.user_id)
            except NotFound:
                return None
            if user.disabled or user.session_version != data.version:
                return None
            renewed = self.signer.renewed(data, self.clock().timestamp()) if self.signer else None
            if renewed is not None:
                # Sliding sessions: in use, the login lasts; the cookie is re-sent (web layer).
                row.expires_at = datetime.fromtimestamp(renewed.expires_at, UTC)
                data = renewed
            return Principal(
                user.username,
                user.role,
                user.id,
                via_token=False,
                session=data,
                locale=user.locale,
            )

    def logout(self, data: SessionData) -> None:
        """End this session: the cookie (and any copy of it) stops working."""
        with self.sessions.begin() as session:
            repo.remove_session(session, token_hash(data.nonce))

    def logout_everywhere(self, user_id: int) -> None:
        with self.sessions.begin() as session:
            repo.end_sessions(session, user_id, now=self.clock())

    # --- API tokens ------------------------------------------------------------------

    def create_token(self, name: str, role: Role, created_by: int | None) -> tuple[str, TokenView]:
        token, hashed, prefix = new_api_token()
        with self.sessions.begin() as session:
            view = repo.add_token(
                session,
                name,
                hashed,
                prefix,
                role,
                created_by=created_by,
                now=self.clock(),
            )
            return token, view

    def token_principal(self, token: str) -> Principal | None:
        """The token's principal; a token made by a user follows that user's current state."""
        with self.sessions.begin() as session:
            row = repo.find_token(session, token_hash(token))
            if row is None:
                return None
            role = row.role
            if row.created_by is not None:
                try:
                    owner = repo.get_user(session, row.created_by)
                except NotFound:
                    return None
                if owner.disabled:
                    return None
                role = min(role, owner.role, key=lambda r: r.rank)
            repo.touch_token(session, row.id, now=self.clock())
            return Principal(f"token:{row.name}", role, None, via_token=True)

    def list_tokens(self) -> list[TokenView]:
        with self.sessions.begin() as session:
            return repo.list_tokens(session)

    def revoke_token(self, token_id: int) -> None:
        with self.sessions.begin() as session:
            repo.revoke_token(session, token_id, now=self.clock())
