"""Alembic environment, run programmatically by `fallwatch.store.db.migrate`.

The caller passes an open connection in `config.attributes["connection"]`; there is no
alembic.ini and no URL here.
"""

from __future__ import annotations

from alembic import context

from fallwatch.store.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through fallwatch.store.db.migrate(url)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things; batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
