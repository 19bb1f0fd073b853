"""The `fallwatch` command line: analyze, eval, bench, notify.

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

from fallwatch.commands import EXIT_BAD_INPUT

COMMAND_MODULES = (
    "fallwatch.pipeline.analyze_command",
    "fallwatch.commands.eval",
    "fallwatch.commands.bench",
    "fallwatch.notify.command",
    "fallwatch.config.command",
    "fallwatch.web.command",
    "fallwatch.pipeline.bench_serve",
    "fallwatch.commands.train",
)



def format_validation_error(exc: ValidationError, source: str = "config") -> str:
    """One line naming each bad field and the problem."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{loc}: {err['msg']}")
    return f"invalid {source}: " + "; ".join(parts)


# FFmpeg's own log lines ("moov atom not found") would duplicate our one-line errors.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fallwatch", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="Debug logging.")
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
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.handler(args))
    except ValidationError as exc:
        print(f"fallwatch: {format_validation_error(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ValueError, FileNotFoundError) as exc:
        print(f"fallwatch: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
