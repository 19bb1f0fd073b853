"""Test package: shared fakes live in `tests.fakes`."""
