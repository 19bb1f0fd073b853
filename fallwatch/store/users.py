"""Users and API tokens of `fallwatch serve`.

Functions take an open `Session` and never commit (the caller owns the transaction), and
times are passed in. Lists and changes hand back `UserView` / `TokenView`; the login
checks (`find_user`, `get_user`, `find_token`) hand back the row, which carries the
password hash and session version that the views leave out.

User names are case-insensitive: stored and looked up in lower case. A login is a
`user_sessions` row named by the SHA-256 of the cookie's nonce; `end_sessions` ends every
login and API token of a user at once. No change leaves the server without an enabled
admin (`Conflict`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fallwatch.store.errors import Conflict, NotFound
from fallwatch.store.models import ApiToken, User, UserSession
from fallwatch.types import Role


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    role: Role
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None
    locale: str | None = None
    """Language of the pages; None: the server's default."""


@dataclass(frozen=True)
class TokenView:
    id: int
    name: str
    prefix: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def user_view(u: User) -> UserView:
    return UserView(u.id, u.username, u.role, u.disabled, u.created_at, u.last_login_at, u.locale)


def token_view(t: ApiToken) -> TokenView:
    return TokenView(t.id, t.name, t.prefix, t.role, t.created_at, t.last_used_at, t.revoked_at)


# --- users ---------------------------------------------------------------------------


def count_users(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(User)).scalar_one())


def get_user(session: Session, user_id: int) -> User:
    row = session.get(User, user_id)
    if row is None:
        raise NotFound(f"no user with id {user_id}")
    return row


def normalise_username(username: str) -> str:
    """The stored form of a user name: 'Admin' and 'admin' are one user."""
    return username.strip().lower()


def find_user(session: Session, username: str) -> User | None:
    return session.execute(
        select(User).where(User.username == normalise_username(username))
    ).scalar_one_or_none()


def list_users(session: Session) -> list[UserView]:
    rows = session.execute(select(User).order_by(User.username)).scalars()
    return [user_view(u) for u in rows]


def add_user(
    session: Session, username: str, password_hash: str, role: Role, *, now: datetime
) -> UserView:
    username = normalise_username(username)
    if find_user(session, username) is not None:
        raise Conflict(f"a user named {username!r} already exists")
    row = User(
        username=username,
        password_hash=password_hash,
        role=role,
        disabled=False,
        session_version=0,
        created_at=now,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # a concurrent insert of the same name
        raise Conflict(f"a user named {username!r} already exists") from None
    return user_view(row)


def set_password(session: Session, user_id: int, password_hash: str, *, now: datetime) -> User:
    """New password; every session and API token of the user ends (`end_sessions`)."""
    row = get_user(session, user_id)
    row.password_hash = password_hash
    end_sessions(session, user_id, now=now)
    return row


def update_user(
    session: Session,
    user_id: int,
    *,
    role: Role | None = None,
    disabled: bool | None = None,
    now: datetime,
) -> UserView:
    """Disabling ends the user's sessions and tokens; a role change applies to both at
    their next request. Neither may leave the server without an enabled admin."""
    row = get_user(session, user_id)
    if (role is not None and role is not Role.ADMIN) or disabled:
        _keep_an_admin(session, row, "disable" if disabled else "demote")
    if role is not None:
        row.role = role
    if disabled is not None and disabled != row.disabled:
        row.disabled = disabled
        if disabled:
            end_sessions(session, user_id, now=now)
    return user_view(row)


def set_locale(session: Session, user_id: int, locale: str | None) -> UserView:
    """The user's language for the pages (None: the server's default)."""
    row = get_user(session, user_id)
    row.locale = locale
    return user_view(row)


def delete_user(session: Session, user_id: int, *, now: datetime) -> None:
    """Remove a user, their sessions and their API tokens (revoked, kept for the record)."""
    row = get_user(session, user_id)
    _keep_an_admin(session, row, "delete")
    end_sessions(session, user_id, now=now)
    session.delete(row)
    session.flush()


def _keep_an_admin(session: Session, row: User, action: str) -> None:
    if row.role is not Role.ADMIN or row.disabled:
        return
    # FOR UPDATE (PostgreSQL) serialises two admins disabling each other at once.
    admins = session.execute(
        select(User.id).where(User.role == Role.ADMIN, User.disabled.is_(False)).with_for_update()
    ).all()
    if len(admins) <= 1:
        raise Conflict(
            f"cannot {action} {row.username!r}: the last enabled admin; "
            "make another user admin first"
        )


def end_sessions(session: Session, user_id: int, *, now: datetime) -> None:
    """End every login of the user (cookies, copied or not) and revoke the API tokens
    they created."""
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(session_version=User.session_version + 1)
        .execution_options(synchronize_session="fetch")
    )
    session.execute(delete(UserSession).where(UserSession.user_id == user_id))
    session.execute(
        update(ApiToken)
        .where(ApiToken.created_by == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


# --- login sessions ------------------------------------------------------------------


def add_session(
    session: Session, session_id: str, user_id: int, *, now: datetime, expires_at: datetime
) -> None:
    """A new login; expired ones of every user are dropped on the way."""
    session.execute(delete(UserSession).where(UserSession.expires_at <= now))
    session.add(UserSession(id=session_id, user_id=user_id, created_at=now, expires_at=expires_at))
    session.flush()


def find_session(session: Session, session_id: str, *, now: datetime) -> UserSession | None:
    row = session.get(UserSession, session_id)
    return row if row is not None and row.expires_at > now else None


def remove_session(session: Session, session_id: str) -> None:
    session.execute(delete(UserSession).where(UserSession.id == session_id))


def record_login(
    session: Session, user_id: int, *, now: datetime, rehashed: str | None = None
) -> None:
    values: dict[str, object] = {"last_login_at": now}
    if rehashed is not None:
        values["password_hash"] = rehashed
    session.execute(update(User).where(User.id == user_id).values(**values))


# --- API tokens ----------------------------------------------------------------------


def add_token(
    session: Session,
    name: str,
    token_hash: str,
    prefix: str,
    role: Role,
    *,
    created_by: int | None,
    now: datetime,
) -> TokenView:
    row = ApiToken(
        name=name,
        token_hash=token_hash,
        prefix=prefix,
        role=role,
        created_by=created_by,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return token_view(row)


def find_token(session: Session, token_hash: str) -> ApiToken | None:
    """A live (not revoked) token by its hash."""
    return session.execute(
        select(ApiToken).where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
    ).scalar_one_or_none()


def touch_token(session: Session, token_id: int, *, now: datetime) -> None:
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))


def list_tokens(session: Session) -> list[TokenView]:
    rows = session.execute(select(ApiToken).order_by(ApiToken.id)).scalars()
    return [token_view(t) for t in rows]


def revoke_token(session: Session, token_id: int, *, now: datetime) -> TokenView:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"no API token with id {token_id}")
    if row.revoked_at is None:
        row.revoked_at = now
    return token_view(row)
