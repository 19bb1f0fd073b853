"""Events: when the person was seen up again (`recovered_at`), kept apart from resolving.

Revision ID: 0004_recovered
Revises: 0003_auth
Create Date: 2026-11-26

A person getting up no longer closes the event (unless `notify.policy.resolve_on_recovery`
says so): the time is recorded on the event's timeline and the alarm stays open until
someone acknowledges it. Plain SQLAlchemy types only, as in 0001.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_recovered"
down_revision = "0003_auth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("recovered_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("recovered_at")
