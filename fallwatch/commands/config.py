"""`fallwatch config schema` and `fallwatch config check FILE`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from fallwatch.config.loader import config_schema, load_server_config
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
    check.add_argument("file", type=Path, help="The YAML config file.")
    check.set_defaults(handler=run_check)


def run_schema(args: argparse.Namespace) -> int:
    json.dump(config_schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def run_check(args: argparse.Namespace) -> int:
    config = load_server_config(args.file)
    # Beyond the schema: what `serve` would trip over at start (names the field).
    check_data_dir(config.data_dir)
    check_file_cameras(config.cameras)
    enabled = sum(c.enabled for c in config.cameras)
    print(
        f"{args.file}: ok: {len(config.cameras)} camera(s), {enabled} enabled; "
        f"{len(config.notify.channels)} notify channel(s); data in {config.data_dir}"
    )
    return 0
