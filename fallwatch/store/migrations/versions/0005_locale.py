"""Users: the language of the pages (`locale`), chosen by each user.

Revision ID: 0005_locale
Revises: 0004_recovered
Create Date: 2026-11-26

Nullable: a user who never chose one sees the server's default (`web.default_locale`,
else the browser's language). Plain SQLAlchemy types only, as in 0001.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_locale"
down_revision = "0004_recovered"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("locale", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("locale")
