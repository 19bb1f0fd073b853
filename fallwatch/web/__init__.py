"""The control room: FastAPI app (dashboard, events, live MJPEG, SSE, REST API, metrics)."""

from fallwatch.web.app import create_app

__all__ = ["create_app"]
