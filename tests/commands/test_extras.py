"""A core install (no extras) detects falls; commands that need an extra say which.

Each case runs the CLI in a fresh interpreter in which the extras' modules cannot be
imported, as on a machine where only `pip install fallwatch` ran.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

EXTRA_MODULES = {
    "server": [
        "fastapi",
        "starlette",
        "uvicorn",
        "jinja2",
        "argon2",
        "cryptography",
        "prometheus_client",
        "multipart",
    ],
    "notify": ["sqlalchemy", "alembic", "httpx", "paho", "apprise"],
    "eval": ["matplotlib", "tqdm"],
    "yolo": ["onnxruntime"],
    "video": ["av"],
    # the single-machine default never imports Ray (`cluster.engine: ray` only)
    "ray": ["ray"],
}
BLOCKED = sorted(m for mods in EXTRA_MODULES.values() for m in mods)

CORE_ONLY = f"""
import sys
from importlib.abc import MetaPathFinder

BLOCKED = {BLOCKED!r}

class NoExtras(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, NoExtras())
from fallwatch.cli import main
sys.exit(main(sys.argv[1:]))
"""


def core_only(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CORE_ONLY, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_the_blocker_blocks() -> None:
    # Without this the tests below could pass on a machine that simply has everything.
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            CORE_ONLY.replace("from fallwatch.cli", "import fastapi\nfrom fallwatch.cli"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode != 0 and "No module named 'fastapi'" in r.stderr


def test_help_lists_every_command_without_extras() -> None:
    r = core_only("--help")
    assert r.returncode == 0, r.stderr
    for command in (
        "analyze",
        "eval",
        "bench",
        "train",
        "config",
        "notify",
        "serve",
        "user",
        "token",
        "bench-serve",
    ):
        assert command in r.stdout, (command, r.stdout)


def test_analyze_runs_on_a_core_install(tmp_path: Path) -> None:
    clip = tmp_path / "empty_room.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"mp4v"), 10.0, (160, 120))
    rng = np.random.default_rng(0)
    for _ in range(10):
        writer.write(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    writer.release()
    r = core_only("analyze", clip, "--no-video", "--no-progress", "--report", tmp_path / "ev.json")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "ev.json").is_file()


def test_analyze_without_pyav_writes_mpeg4_and_says_why(tmp_path: Path) -> None:
    clip = tmp_path / "empty_room.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (160, 120))
    for i in range(5):
        writer.write(np.full((120, 160, 3), i * 40, np.uint8))
    writer.release()
    out = tmp_path / "annotated.mp4"
    r = core_only("analyze", clip, "-o", out, "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "pip install 'fallwatch[video]'" in r.stderr and "browsers do not" in r.stderr
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 5


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (("serve", "--config", "fallwatch.example.yaml"), "server"),
        (("user", "list", "--config", "fallwatch.example.yaml"), "server"),
        (("notify", "test", "--channel", "any", "--config", "fallwatch.example.yaml"), "notify"),
    ],
)
def test_a_command_without_its_extra_names_it(args: tuple[str, ...], extra: str) -> None:
    repo = Path(__file__).resolve().parents[2]
    r = core_only(*args, cwd=repo)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert f"pip install 'fallwatch[{extra}]'" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
