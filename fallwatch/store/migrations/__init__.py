"""Alembic migrations, shipped in the package and run by `fallwatch.store.db.migrate`."""
