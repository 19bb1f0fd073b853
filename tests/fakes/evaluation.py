"""Builders for evaluation tests: labels, manifest entries and files, the eval CLI in process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fallwatch import cli
from fallwatch.bench.data import data_dir
from fallwatch.evaluation.manifest import ClipLabel

REPO_ROOT = Path(__file__).resolve().parents[2]


def find_falls_data() -> Path | None:
    """`<data>/falls` (`$FALLWATCH_DATA`, else `../shared/data` beside the repo), or None."""
    root = data_dir()
    return None if root is None else root / "falls"


def make_label(**kw: Any) -> ClipLabel:
    """A fall label by default: down from 3 s until the end."""
    fields: dict[str, Any] = {"fall": True, "down_from_s": 3.0, "down_until_s": "end"}
    if kw.get("fall") is False:
        fields = {}
    return ClipLabel(**{**fields, **kw})


def make_clip(file: str = "videos/a.mp4", **label: Any) -> dict[str, Any]:
    """One manifest entry as JSON data."""
    lbl = {"fall": True, "fall_start_s": 1.0, "down_from_s": 2.0, "down_until_s": "end"}
    if label.get("fall") is False:
        lbl = {}
    lbl.update(label)
    return {
        "file": file,
        "label": lbl,
        "uncertain": False,
        "fps": 18.0,
        "duration_s": 7.0,
    }


def write_manifest(folder: Path, videos: list[dict[str, Any]], **top: Any) -> Path:
    path = folder / "manifest.json"
    path.write_text(json.dumps({"name": "test manifest", "videos": videos, **top}, indent=1))
    return path


def run_eval(args: list[str]) -> int:
    """`fallwatch eval ARGS` in process, through the real CLI entry point.

    Only the eval command is registered, so a sibling command being mid-edit cannot
    break these tests; the parsing and the exit code mapping are the real ones.
    """
    saved = cli.COMMAND_MODULES
    cli.COMMAND_MODULES = ("fallwatch.commands.eval",)
    try:
        return cli.main(["eval", *args])
    finally:
        cli.COMMAND_MODULES = saved


EVAL_ONLY_MAIN = (
    "import sys, fallwatch.cli as c; c.COMMAND_MODULES = ('fallwatch.commands.eval',); "
    "sys.exit(c.main(sys.argv[1:]))"
)
"""`python -c` program running the real CLI with only `eval` registered (see `run_eval`)."""
