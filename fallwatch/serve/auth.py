"""Users, logins and API tokens: the rules, on top of `store.users` and `security`."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from fallwatch.serve.security import (
    SessionData,
    hash_password,
    new_api_token,
    token_hash,
    verify_password,
)
from fallwatch.store import users as repo
from fallwatch.store.errors import NotFound
from fallwatch.store.models import User
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

    def allows(self, role: Role) -> bool:
        return self.role.allows(role)


class AuthService:
    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self.sessions = sessions
        self.clock = clock

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
        log.info("created admin user %r from the environment", user)
        return view

    def list_users(self) -> list[UserView]:
        with self.sessions.begin() as session:
            return repo.list_users(session)

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
            if hashed is not None:
                repo.set_password(session, user_id, hashed)
            return repo.update_user(session, user_id, role=role, disabled=disabled)

    def set_password(self, username: str, password: str) -> None:
        hashed = hash_password(password)
        with self.sessions.begin() as session:
            user = repo.find_user(session, username)
            if user is None:
                raise NotFound(f"no user named {username!r}")
            repo.set_password(session, user.id, hashed)

    def login(self, username: str, password: str) -> User | None:
        """The user when the password matches and the account is enabled, else None."""
        with self.sessions.begin() as session:
            user = repo.find_user(session, username)
            ok, rehashed = verify_password(user.password_hash if user else None, password)
            if user is None or not ok or user.disabled:
                return None
            repo.record_login(session, user.id, now=self.clock(), rehashed=rehashed)
            return user

    def session_principal(self, data: SessionData) -> Principal | None:
        with self.sessions.begin() as session:
            try:
                user = repo.get_user(session, data.user_id)
            except NotFound:
                return None
            if user.disabled or user.session_version != data.version:
                return None
            return Principal(user.username, user.role, user.id, via_token=False, session=data)

    def logout_everywhere(self, user_id: int) -> None:
        with self.sessions.begin() as session:
            user = repo.get_user(session, user_id)
            user.session_version += 1

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
        with self.sessions.begin() as session:
            row = repo.find_token(session, token_hash(token))
            if row is None:
                return None
            repo.touch_token(session, row.id, now=self.clock())
            return Principal(f"token:{row.name}", row.role, None, via_token=True)

    def list_tokens(self) -> list[TokenView]:
        with self.sessions.begin() as session:
            return repo.list_tokens(session)

    def revoke_token(self, token_id: int) -> None:
        with self.sessions.begin() as session:
            repo.revoke_token(session, token_id, now=self.clock())
