"""The control room: FastAPI app (dashboard, events, live MJPEG, SSE, REST API, metrics).

`fallwatch.web.app.create_app(server)` builds the app for a `fallwatch.serve.app.FallwatchServer`.
"""
