"""Users and API tokens of `fallwatch serve`.

Functions take an open `Session` and never commit (the caller owns the transaction), and
times are passed in. Lists and changes hand back `UserView` / `TokenView`; the login
checks (`find_user`, `get_user`, `find_token`) hand back the row, which carries the
password hash and session version that the views leave out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fallwatch.store.errors import Conflict, NotFound
from fallwatch.store.models import ApiToken, User
from fallwatch.types import Role


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    role: Role
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None


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
    return UserView(u.id, u.username, u.role, u.disabled, u.created_at, u.last_login_at)


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


def find_user(session: Session, username: str) -> User | None:
    return session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def list_users(session: Session) -> list[UserView]:
    rows = session.execute(select(User).order_by(User.username)).scalars()
    return [user_view(u) for u in rows]


def add_user(
    session: Session, username: str, password_hash: str, role: Role, *, now: datetime
) -> UserView:
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


def set_password(session: Session, user_id: int, password_hash: str) -> User:
    """New password; existing sessions of the user end (their version no longer matches)."""
    row = get_user(session, user_id)
    row.password_hash = password_hash
    row.session_version += 1
    return row


def update_user(
    session: Session,
    user_id: int,
    *,
    role: Role | None = None,
    disabled: bool | None = None,
) -> UserView:
    row = get_user(session, user_id)
    if role is not None:
        row.role = role
    if disabled is not None and disabled != row.disabled:
        row.disabled = disabled
        row.session_version += 1
    return user_view(row)


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
