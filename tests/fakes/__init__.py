"""Shared fakes and builders for tests, one module per area of the package.

Imported as `from tests.fakes.<area> import ...` (pytest puts the repository root on
`sys.path`, see `pythonpath` in pyproject.toml; spawned worker processes inherit it).
Fixtures that use them stay in each folder's `conftest.py`.
"""
