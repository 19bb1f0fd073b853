"""`fallwatch eval` end to end on a tiny manifest of real clips, and its bad-input paths."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fallwatch.commands.eval import detector_config, select
from fallwatch.config.detector import PoseDetectorConfig
from fallwatch.config.fall import FallConfig
from fallwatch.evaluation.manifest import load_manifests
from fallwatch.evaluation.plots import plots_unavailable
from tests.fakes.evaluation import (
    EVAL_ONLY_MAIN,
    REPO_ROOT,
    make_clip,
    run_eval,
    write_manifest,
)

FALL_CLIP = "videos/gmdcsa24/GMDCSA24_S1_Fall_14.mp4"
ADL_CLIP = "videos/gmdcsa24/GMDCSA24_S1_ADL_16.mp4"


def _entry(manifest: dict[str, Any], file: str, written_as: str | None = None) -> dict[str, Any]:
    entry = next(v for v in manifest["videos"] if v["file"] == file)
    return {**entry, "file": written_as or file}


@pytest.fixture
def tiny(tmp_path: Path, falls_data: Path, falls_manifest: dict[str, Any]) -> Path:
    """Two real clips (one written with a leading ./) and three stills, via symlinks."""
    (tmp_path / "videos").symlink_to(falls_data / "videos")
    (tmp_path / "images").symlink_to(falls_data / "images")
    images = falls_manifest["images"]
    return write_manifest(
        tmp_path,
        [
            _entry(falls_manifest, ADL_CLIP, "./" + ADL_CLIP),
            _entry(falls_manifest, FALL_CLIP),
        ],
        images={**images, "items": images["items"][:3]},
    )


def test_eval_tiny_manifest(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "out" / "report.json"
    cache = tmp_path / "cache"
    args = [
        str(tiny),
        "--report",
        str(report),
        "--plots",
        str(tmp_path / "plots"),
        "--cache-dir",
        str(cache),
    ]
    assert run_eval(args) == 0
    out = capsys.readouterr().out
    assert "confirm_s=2.0 (eval default for short clips)" in out
    assert (
        "falls alerted while down:" in out
        and "Stills (3 judged" in out
        and "frames/s analysed" in out
    )

    data = json.loads(report.read_text())
    assert [c["file"] for c in data["clips"]] == ["./" + ADL_CLIP, FALL_CLIP]
    assert all(isinstance(t, float) for c in data["clips"] for t in c["alerts_s"])
    adl, fall = data["clips"]
    # 169 frames at 29.66 fps, analysed at the default 12 fps.
    assert fall["label"]["fall"] and abs(fall["frames"] - 169 * 12 / 29.663) <= 2
    assert not fall["cached"] and data["settings"]["analysis_fps"] == 12
    assert fall["matched"] == bool(fall["alerts_s"]) or fall["false_alarm"]
    assert adl["hard_negative"] and adl["false_alarm"] == bool(adl["alerts_s"])
    st = data["settings"]
    default_found_down_s = FallConfig().found_down_s  # the rules' own default, whatever it is
    assert (st["confirm_s"], st["found_down_s"], st["detector"]) == (
        2.0,
        default_found_down_s,
        "pose",
    )
    assert st["fallwatch_version"]
    assert data["totals"]["clips"] == 2 and data["images"]["judged"] == 3
    assert set(data["images"]["confusion"]) == {"tp", "fp", "fn", "tn"}
    assert report.with_suffix(".md").read_text().startswith("# Fallwatch evaluation")
    # Named after the clip's unique name: the manifest's folder, then its path.
    label = tmp_path.name
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        f"{label}__videos__gmdcsa24__GMDCSA24_S1_ADL_16.png",
        f"{label}__videos__gmdcsa24__GMDCSA24_S1_Fall_14.png",
    ]
    assert [c["name"] for c in data["clips"]] == [f"{label}/{ADL_CLIP}", f"{label}/{FALL_CLIP}"]
    assert [s["source"] for s in data["sources"]] == [
        "ekramalam/GMDCSA24-A-Dataset-for-Human-Fall-Detection-in-Videos"
    ]

    # Again from the cache, with other rules: no detector run, same frames, new alerts.
    again = tmp_path / "again.json"
    assert (
        run_eval(
            [
                str(tiny),
                "--report",
                str(again),
                "--cache-dir",
                str(cache),
                "--confirm-s",
                "60",
            ]
        )
        == 0
    )
    data2 = json.loads(again.read_text())
    assert all(c["cached"] for c in data2["clips"]) and data2["images"]["cached"] == 3
    assert [c["frames"] for c in data2["clips"]] == [c["frames"] for c in data["clips"]]
    assert all(c["alerts_s"] == [] for c in data2["clips"]), "60 s confirm cannot fire in 6 s clips"
    assert data2["settings"]["confirm_s"] == 60.0
    assert "set with --confirm-s" in capsys.readouterr().out


def test_only_limit_and_no_images(tiny: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    cache = ["--cache-dir", str(tmp_path / "cache")]
    assert (
        run_eval(
            [
                str(tiny),
                "--only",
                "*ADL*",
                "--no-images",
                "--report",
                str(report),
                *cache,
            ]
        )
        == 0
    )
    data = json.loads(report.read_text())
    assert [c["file"] for c in data["clips"]] == ["./" + ADL_CLIP] and data["images"] is None
    assert run_eval([str(tiny), "--limit", "1", "--report", str(report), *cache]) == 0
    data = json.loads(report.read_text())
    assert [c["file"] for c in data["clips"]] == ["./" + ADL_CLIP] and data["images"]["images"] == 1


def test_missing_clip_is_reported_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_manifest(tmp_path, [make_clip("videos/not-here.mp4")])
    report = tmp_path / "r.json"
    assert run_eval([str(path), "--report", str(report)]) == 1
    captured = capsys.readouterr()
    assert "FAILED: 1 clip(s)" in captured.out and "videos/not-here.mp4" in captured.out
    assert "exit code 1" in captured.err
    clip = json.loads(report.read_text())["clips"][0]
    assert clip["file"] == "videos/not-here.mp4" and "no such file" in clip["error"]


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (None, [], "no such manifest"),
        ("{oops", [], "invalid JSON at line 1"),
        (
            {"videos": [{"file": "a.mp4", "label": {"fall": True}}]},
            [],
            "videos[0] (a.mp4) label: a fall clip needs down_from_s and down_until_s",
        ),
        (
            {"videos": [make_clip()]},
            ["--only", "nothing*"],
            "nothing selected (--only nothing* matched",
        ),
        ({"videos": [make_clip()]}, ["--limit", "0"], "--limit must be >= 1"),
        (
            {"videos": [make_clip()]},
            ["--confirm-s", "-1"],
            "confirm_s: Input should be greater than 0",
        ),
        (
            {"videos": [make_clip()]},
            ["--leave-one-source-out"],
            "--leave-one-source-out replays cached detections: give --cache-dir",
        ),
        (
            {"videos": [make_clip()]},
            ["--leave-one-source-out", "--cache-dir", "/nonexistent/cache"],
            "--leave-one-source-out needs clips from at least 2 sources, got 1",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    setup: Any,
    args: list[str],
    message: str,
) -> None:
    path = tmp_path / "manifest.json"
    if isinstance(setup, str):
        path.write_text(setup)
    elif setup is not None:
        path.write_text(json.dumps(setup))
    assert run_eval([str(path), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.startswith("fallwatch:") and "\n" not in err


def test_malformed_manifest_in_a_real_process_has_no_traceback(tmp_path: Path) -> None:
    path = write_manifest(
        tmp_path,
        [make_clip("videos/a.mp4"), {"file": "videos/b.mp4", "label": {"fall": "?"}}],
    )
    proc = subprocess.run(
        [sys.executable, "-c", EVAL_ONLY_MAIN, "eval", str(path)],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "videos[1] (videos/b.mp4) label.fall: Input should be a valid boolean" in lines[0]
    assert proc.stdout == ""


NO_MATPLOTLIB_MAIN = "import sys; sys.modules['matplotlib'] = None; " + EVAL_ONLY_MAIN
"""`EVAL_ONLY_MAIN` where matplotlib (the optional `eval` extra) cannot be imported."""


def test_eval_without_matplotlib_runs_and_plots_name_the_extra(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, [make_clip("videos/not-here.mp4")])
    report = tmp_path / "r.json"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", NO_MATPLOTLIB_MAIN, "eval", str(path), *args],
            check=False,
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            timeout=120,
        )

    # Without --plots nothing needs matplotlib: the run goes on (the clip is missing: 1).
    proc = run("--report", str(report))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert json.loads(report.read_text())["clips"][0]["file"] == "videos/not-here.mp4"
    proc = run("--plots", str(tmp_path / "plots"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "fallwatch: error: --plots: matplotlib is not installed: pip install 'fallwatch[eval]'"
    ]
    assert proc.stdout == ""


def test_plots_unavailable_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    assert plots_unavailable() is None
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert plots_unavailable() == "matplotlib is not installed: pip install 'fallwatch[eval]'"


def test_detector_configs() -> None:
    assert detector_config("pose") == PoseDetectorConfig()
    yolo = detector_config("yolo")
    assert (yolo.type, yolo.format) == ("yolo", "hfd")
    hybrid = detector_config("hybrid")
    assert (hybrid.type, hybrid.yolo.format) == ("hybrid", "hfd")


def _two_manifests(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "lab").mkdir()
    (tmp_path / "home").mkdir()
    lab = write_manifest(
        tmp_path / "lab",
        [
            {**make_clip("videos/a.mp4"), "source": {"repo": "owner/lab"}},
            make_clip("videos/b.mp4", fall=False),
        ],
    )
    home = write_manifest(tmp_path / "home", [make_clip("videos/a.mp4")])
    return lab, home


@pytest.mark.parametrize(
    ("only", "limit", "names"),
    [
        (None, None, ["lab/videos/a.mp4", "lab/videos/b.mp4", "home/videos/a.mp4"]),
        (["videos/a.mp4"], None, ["lab/videos/a.mp4", "home/videos/a.mp4"]),  # as written
        (["home/*"], None, ["home/videos/a.mp4"]),  # by unique name
        (["*/b.mp4", "home/*"], None, ["lab/videos/b.mp4", "home/videos/a.mp4"]),
        (None, 2, ["lab/videos/a.mp4", "lab/videos/b.mp4"]),  # limit over all manifests
    ],
)
def test_select_across_manifests(
    tmp_path: Path, only: list[str] | None, limit: int | None, names: list[str]
) -> None:
    manifests = load_manifests(_two_manifests(tmp_path))
    clips, stills = select(manifests, only, limit, images=True)
    assert [c.name for c in clips] == names and stills == []


def test_two_manifests_report_names_and_sources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # No video files: every clip fails, which is enough to see names and grouping.
    lab, home = _two_manifests(tmp_path)
    report = tmp_path / "r.json"
    assert run_eval([str(lab), str(home), "--report", str(report)]) == 1
    data = json.loads(report.read_text())
    assert [(c["file"], c["name"], c["source"]) for c in data["clips"]] == [
        ("videos/a.mp4", "lab/videos/a.mp4", "owner/lab"),
        ("videos/b.mp4", "lab/videos/b.mp4", "lab"),
        ("videos/a.mp4", "home/videos/a.mp4", "home"),
    ]
    assert data["settings"]["manifests"] == {"lab": str(lab), "home": str(home)}
    assert [s["source"] for s in data["sources"]] == ["home", "lab", "owner/lab"]
    out = capsys.readouterr().out
    assert "Per source" in out and "home/videos/a.mp4" in out


def test_leave_one_source_out_end_to_end(
    tmp_path: Path,
    falls_data: Path,
    falls_manifest: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Two real clips from two sources: the first pass fills the cache, the folds replay it.
    (tmp_path / "videos").symlink_to(falls_data / "videos")
    upfall = "videos/upfall/UPFall_S1_A01_T1_Cam1.mp4"
    path = write_manifest(
        tmp_path, [_entry(falls_manifest, ADL_CLIP), _entry(falls_manifest, upfall)]
    )
    report = tmp_path / "r.json"
    args = [str(path), "--cache-dir", str(tmp_path / "cache"), "--report", str(report)]
    assert run_eval([*args, "--no-images", "--leave-one-source-out"]) == 0
    out = capsys.readouterr().out
    assert "LEAVE-ONE-SOURCE-OUT" in out and "in-sample figure" in out
    loso = json.loads(report.read_text())["leave_one_source_out"]
    assert [f["source"] for f in loso["folds"]] == [
        "ekramalam/GMDCSA24-A-Dataset-for-Human-Fall-Detection-in-Videos",
        "taufeeque9/HumanFallDetection",
    ]
    assert [f["train_sources"] for f in loso["folds"]] == [
        ["taufeeque9/HumanFallDetection"],
        ["ekramalam/GMDCSA24-A-Dataset-for-Human-Fall-Detection-in-Videos"],
    ]
    assert loso["totals"]["clips"] == 2
    assert "## Leave-one-source-out" in report.with_suffix(".md").read_text()


def test_zoom_option_overrides_the_pose_zoom_in_every_mode() -> None:
    assert detector_config("pose").zoom.enabled is True
    assert detector_config("pose", zoom=False).zoom.enabled is False
    assert detector_config("hybrid", zoom=False).pose.zoom.enabled is False
    # Everything else in the pose config is left as it was.
    off = detector_config("pose", zoom=False)
    assert off.model_copy(update={"zoom": PoseDetectorConfig().zoom}) == PoseDetectorConfig()
