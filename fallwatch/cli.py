"""Fallwatch: finds people who collapsed on CCTV and alerts the control room.

Each command lives in its own module with `register(subparsers)`; the handler it sets
returns an exit code. Bad input raises a `UsageError` (or a `ValueError` from a boundary)
and becomes a one-line message and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from fallwatch import __version__
from fallwatch.commands import EXIT_BAD_INPUT, missing_extra
from fallwatch.config.errors import format_validation_error
from fallwatch.i18n import cli_gettext as _

COMMAND_MODULES = (
    "fallwatch.commands.analyze",
    "fallwatch.commands.eval",
    "fallwatch.commands.bench",
    "fallwatch.commands.notify",
    "fallwatch.commands.config",
    "fallwatch.commands.serve",
    "fallwatch.commands.users",
    "fallwatch.commands.bench_serve",
    "fallwatch.commands.train",
)

QUIET_LIBRARIES = ("alembic", "httpx", "httpcore", "apprise", "matplotlib", "PIL", "urllib3")
"""Libraries whose INFO lines would sit beside ours on every run (alembic's "Context impl
SQLiteImpl" on every command that opens the database, httpx's "HTTP Request: POST" for
every alert sent): warnings only, unless -v."""

# FFmpeg's own log lines ("moov atom not found") would duplicate our one-line errors.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fallwatch",
        description=_("Fallwatch: finds people who collapsed on CCTV and alerts the control room."),
        epilog=_("`fallwatch COMMAND --help` for a command's options."),
    )
    parser.add_argument("-v", "--verbose", action="store_true", help=_("Debug logging."))
    parser.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {__version__}",
        help=_("Print the version and exit."),
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # A command whose module is not there yet (or whose optional extra is not
            # installed) is left out rather than breaking every other command.
            if exc.name and (exc.name == name or name.startswith(exc.name)):
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Started with stdout or stderr closed (`fallwatch serve >&-` from a service script):
    # Python then has None there, and the first print would fail. Nobody reads them, so
    # what would go there is dropped, as `| true` drops it.
    for stream in ("stdout", "stderr"):
        if getattr(sys, stream) is None:
            setattr(sys, stream, open(os.devnull, "w"))  # noqa: SIM115 (for the process's life)
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        # Ctrl-C while the commands' libraries load (seconds on a busy machine).
        return 130
    if not args.verbose:
        for name in QUIET_LIBRARIES:
            logging.getLogger(name).setLevel(logging.WARNING)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.handler(args))
    except ModuleNotFoundError as exc:
        # An optional part that is not installed: name the extra, not a traceback.
        extra = missing_extra(exc)
        if extra is None:
            raise
        # The command's own extra when it names one: `serve` needs all of `server`, even
        # when the first module found missing belongs to `notify`, which `server` includes.
        extra = getattr(sys.modules.get(args.handler.__module__), "EXTRA", extra)
        print(
            _(
                "fallwatch {command}: needs the '{extra}' extra ({module} is not installed): "
                "pip install 'fallwatch[{extra}]'"
            ).format(command=args.command, extra=extra, module=exc.name),
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    except ValidationError as exc:
        print(
            _("fallwatch: invalid config: {problem}").format(problem=format_validation_error(exc)),
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`fallwatch config schema | head`): not an error of ours.
        # Point stdout at /dev/null so the interpreter's final flush does not fail too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except (ValueError, OSError) as exc:
        # OSError: a path that cannot be written (a directory, no permission, a full disk).
        print(_("fallwatch: error: {problem}").format(problem=_one_line(exc)), file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:
        # A bug of ours: one line for the user, the traceback with -v for the report.
        if args.verbose:
            raise
        print(
            _(
                "fallwatch {command}: unexpected error: {kind}: {problem} "
                "(run with -v for the traceback)"
            ).format(command=args.command, kind=type(exc).__name__, problem=_one_line(exc)),
            file=sys.stderr,
        )
        return 1


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    return " ".join(str(exc).split())


if __name__ == "__main__":
    sys.exit(main())
