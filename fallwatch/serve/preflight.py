"""Checks made before anything starts: the data directory, file cameras, the web port.

Each failure is a `ValueError` whose message names the config field (`data_dir: ...`,
`cameras[0].path: ...`, `web.port: ...`), which the CLI prints as one line with exit 2.
`fallwatch config check` runs the side-effect-free ones; `fallwatch serve` also creates
the data directory (mode 0700) and binds the port once before any camera worker starts.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import stat
import tempfile
from pathlib import Path

from fallwatch.config.server import CameraConfig
from fallwatch.sources.video import VideoError, probe_video

log = logging.getLogger(__name__)

PRIVATE_DIR_MODE = 0o700


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def make_private_dir(path: Path, field: str = "data_dir") -> Path:
    """Create `path` (and its parents) as 0700, or tighten it to 0700 if it is wider.

    Raises ValueError naming `field` when it cannot be created or written.
    """
    path = path.expanduser().resolve()
    try:
        path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(mode & ~0o077 | PRIVATE_DIR_MODE)
            log.warning("%s: %s was readable by others (%o): now 0700", field, path, mode)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise ValueError(f"{field}: cannot create or write {path}: {_why(exc)}") from None
    return path


def check_data_dir(path: Path) -> None:
    """ValueError naming data_dir unless it is a writable directory or can be created.

    Tries for real (os.access says yes to root even on /proc): creates what is missing
    and a temporary file in it, then removes what it created.
    """
    path = path.expanduser().resolve()
    created = []
    missing = path
    while not missing.exists():
        created.append(missing)
        missing = missing.parent
    try:
        for folder in reversed(created):
            folder.mkdir()
        if not path.is_dir():
            raise ValueError(f"data_dir: {path} is not a directory")
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise ValueError(f"data_dir: cannot create or write {path}: {_why(exc)}") from None
    finally:
        for folder in created:
            with contextlib.suppress(OSError):
                folder.rmdir()


def check_file_cameras(cameras: list[CameraConfig]) -> None:
    """ValueError naming the camera unless every enabled file camera opens as a video."""
    for i, camera in enumerate(cameras):
        if camera.path is None or not camera.enabled:
            continue
        try:
            probe_video(camera.path)
        except VideoError as exc:
            raise ValueError(f"cameras[{i}].path (camera {camera.id!r}): {exc}") from None


def check_port(host: str, port: int) -> None:
    """ValueError naming web.port unless `host`:`port` can be bound now (as uvicorn will)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ValueError(f"web.host: cannot resolve {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ValueError(
                    f"web.port: {host}:{port} is already in use by another program "
                    "(stop it, or choose another port with --port or web.port)"
                ) from None
            raise ValueError(f"web.port: cannot listen on {host}:{port}: {_why(exc)}") from None
