"""`fallwatch serve`: the control room.

Reads the config (`--config`, default $FALLWATCH_CONFIG or ./fallwatch.yaml), brings the
database schema up to date, starts one worker process per camera, the notification
dispatcher and the web server, and stops them all on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
from pathlib import Path
from typing import Any

from fallwatch.config.loader import load_server_config
from fallwatch.config.server import ServerConfig

EXTRA = "server"
"""The optional dependencies this command needs (`pip install 'fallwatch[server]'`)."""

log = logging.getLogger(__name__)


def default_config_path() -> Path:
    return Path(os.environ.get("FALLWATCH_CONFIG", "fallwatch.yaml"))


def load_config(path: Path | None) -> ServerConfig:
    """The server config from `path`, or $FALLWATCH_CONFIG, or ./fallwatch.yaml."""
    return load_server_config(path or default_config_path())


def register(subparsers: Any) -> None:
    serve = subparsers.add_parser(
        "serve", help="Run the control room: cameras, alerts, web UI and API."
    )
    serve.add_argument(
        "--config",
        type=Path,
        default=None,
        help="YAML config (default: $FALLWATCH_CONFIG or ./fallwatch.yaml).",
    )
    serve.add_argument("--host", default=None, help="Listen address (overrides web.host).")
    serve.add_argument("--port", type=int, default=None, help="Port (overrides web.port).")
    serve.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from fallwatch.serve.app import FallwatchServer
    from fallwatch.serve.preflight import check_port
    from fallwatch.web.app import create_app

    config = load_config(args.config)
    host = args.host or config.web.host
    port = args.port or config.web.port
    check_port(host, port)  # before any worker starts: a port in use is one line, exit 2
    server = FallwatchServer(config)
    server.migrate()
    stopping = _StopSignals()
    try:
        server.start()
        app = create_app(server)
        uv = uvicorn.Server(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                log_level="warning",
                # Live streams never end by themselves: give them 2 s, then close them.
                timeout_graceful_shutdown=2,
            )
        )
        log.info("dashboard on http://%s:%d/ (API docs at /api/docs)", host, port)
        # uvicorn catches SIGINT and SIGTERM, shuts the web server down, then raises the
        # signal again: ours turns it into `Stopping`, so both reach the `finally`.
        uv.run()
    except Stopping:
        pass
    finally:
        stopping.begin()
        server.stop()
        stopping.restore()
        log.info("fallwatch serve stopped (%s)", stopping.why)
    return 0


class Stopping(Exception):
    """SIGINT or SIGTERM arrived: stop everything the way Ctrl-C does."""


class _StopSignals:
    """SIGINT and SIGTERM raise `Stopping` (SIGTERM would otherwise end the process
    before `server.stop()`, leaving the camera workers behind); a second signal while
    stopping is logged and ignored, so the workers are always stopped."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.why = "web server ended"
        self._stopping = False
        self._previous = {sig: signal.signal(sig, self._handle) for sig in self.SIGNALS}

    def _handle(self, signum: int, frame: object) -> None:
        name = signal.Signals(signum).name
        if self._stopping:
            log.warning("%s while stopping: still stopping the camera workers", name)
            return
        self.why = name
        log.info("%s: stopping the web server, camera workers and recorder", name)
        raise Stopping(name)

    def begin(self) -> None:
        self._stopping = True

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
