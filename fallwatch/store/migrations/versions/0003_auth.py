"""Server-side login sessions; user names made case-insensitive (stored in lower case).

Revision ID: 0003_auth
Revises: 0002_server
Create Date: 2026-11-25

User names become lower case. Where two names differ only in case ('Admin' and
'admin'), the one already in lower case keeps it (else the oldest, lowest id) and each
other one is renamed '<name>-<id>' (still a valid name, shown in `fallwatch user list`,
logged as a warning) and its sessions end: no account is dropped, none is merged, and
nobody logs in as someone else.

Plain SQLAlchemy types only, as in 0001: a migration keeps meaning what it meant.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0003_auth"
down_revision = "0002_server"
branch_labels = None
depends_on = None

log = logging.getLogger("fallwatch.store.migrations")


def _lower_user_names() -> None:
    users = sa.table(
        "users",
        sa.column("id", sa.Integer()),
        sa.column("username", sa.String()),
        sa.column("session_version", sa.Integer()),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(users.c.id, users.c.username).order_by(users.c.id)).all()
    taken = {name for _, name in rows if name == name.lower()}
    # Two passes so that renaming one row never collides with a row not yet renamed.
    renames: dict[int, str] = {}
    for user_id, name in rows:
        if name == name.lower():
            continue
        new = name.lower()
        n = 0
        while new in taken:
            suffix = f"-{user_id}" + (f"-{n}" if n else "")
            new = name.lower()[: 64 - len(suffix)] + suffix
            n += 1
        if new != name.lower():
            log.warning("user %r renamed %r: another user has that name in lower case", name, new)
        taken.add(new)
        renames[user_id] = new
    for user_id, new in renames.items():
        conn.execute(
            sa.update(users)
            .where(users.c.id == user_id)
            .values(username=new, session_version=users.c.session_version + 1)
        )


def upgrade() -> None:
    _lower_user_names()
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
    )
    op.create_index(
        op.f("ix_user_sessions_user_id"), "user_sessions", ["user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_user_sessions_user_id"), table_name="user_sessions")
    op.drop_table("user_sessions")
