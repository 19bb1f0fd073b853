"""REST API and pages: one module per resource under `routes/`, shared dependencies in `deps`."""
