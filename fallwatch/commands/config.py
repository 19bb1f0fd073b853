"""`fallwatch config schema` and `fallwatch config check [FILE] [--config FILE]` (default
$FALLWATCH_CONFIG or ./fallwatch.yaml, as every command that reads the config)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from fallwatch.commands import UsageError
from fallwatch.commands.serve import default_config_path
from fallwatch.config.loader import config_schema, load_server_config
from fallwatch.i18n import cli_gettext as _
from fallwatch.serve.preflight import check_data_dir, check_file_cameras


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("config", help="Config file tools (JSON schema, check).")
    sub = parser.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    schema = sub.add_parser(
        "schema",
        help="Print the JSON schema of fallwatch.yaml (docs/config.schema.json).",
    )
    schema.set_defaults(handler=run_schema)
    check = sub.add_parser(
        "check",
        help="Validate a config file (also opens file cameras and checks data_dir is "
        "writable); exit 2 naming the bad field.",
    )
    check.add_argument(
        "file", type=Path, nargs="?", default=None, help="The YAML config file (or --config)."
    )
    check.add_argument(
        "--config",
        type=Path,
        default=None,
        help="YAML config (default: $FALLWATCH_CONFIG or ./fallwatch.yaml).",
    )
    check.set_defaults(handler=run_check)


def run_schema(args: argparse.Namespace) -> int:
    json.dump(config_schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def run_check(args: argparse.Namespace) -> int:
    if args.file is not None and args.config is not None and args.file != args.config:
        raise UsageError(
            _("two config files given ({file} and --config {config})").format(
                file=args.file, config=args.config
            )
        )
    path: Path = args.file or args.config or default_config_path()
    config = load_server_config(path)
    # Beyond the schema: what `serve` would trip over at start (names the field).
    check_data_dir(config.data_dir)
    check_file_cameras(config.cameras)
    enabled = sum(c.enabled for c in config.cameras)
    print(
        _(
            "{path}: ok: {cameras} camera(s), {enabled} enabled; "
            "{channels} notify channel(s); data in {data_dir}"
        ).format(
            path=path,
            cameras=len(config.cameras),
            enabled=enabled,
            channels=len(config.notify.channels),
            data_dir=config.data_dir,
        )
    )
    return 0
