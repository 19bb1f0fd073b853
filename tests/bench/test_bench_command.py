"""`fallwatch bench` end to end: real model, real clips where present, bad input."""

import json
from pathlib import Path

import pytest

from fallwatch.bench import data
from fallwatch.bench.frame_bench import STAGES
from fallwatch.cli import main

SHORT_CLIP = "videos/gmdcsa24/GMDCSA24_S1_ADL_16.mp4"
"""3.5 s: the shortest non-uncertain clip of the shared set."""


def test_frame_bench_on_real_clip(
    falls_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"
    clip = falls_dir / data.DEFAULT_CLIP
    assert main(["bench", str(clip), "--frames", "30", "--warmup", "2", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["frames"] == 30
    assert set(figures["stages_ms"]) == set(STAGES)
    for name, stage in figures["stages_ms"].items():
        assert stage["frames"] == 30, name
        assert stage["mean_ms"] > 0 and stage["p50_ms"] > 0 and stage["p95_ms"] > 0, name
    assert figures["end_to_end"]["fps"] > 0
    assert figures["end_to_end"]["x_realtime"] > 0
    assert figures["peak_rss_mb"] > 0
    assert figures["machine"]["cores"] >= 1 and figures["machine"]["cpu_model"]
    assert {t["name"] for t in figures["targets"]} == {"end-to-end", "peak memory"}
    assert {t["verdict"] for t in figures["targets"]} <= {"PASS", "FAIL"}
    printed = capsys.readouterr().out
    for word in ("inference", "jpeg_encode", "end-to-end", "peak memory", "targets:"):
        assert word in printed


def test_analyze_manifest_on_one_real_clip(falls_dir: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    clip = {"file": str(falls_dir / SHORT_CLIP), "label": {"fall": False}}
    manifest.write_text(json.dumps({"videos": [clip, {**clip, "file": "other.mp4"}]}))
    out = tmp_path / "analyze.json"
    rc = main(["bench", "--analyze-manifest", str(manifest), "--limit", "1", "--json", str(out)])
    assert rc == 0
    figures = json.loads(out.read_text())
    (row,) = figures["clips"]
    assert row["frames"] > 0 and row["x_realtime"] > 0
    assert figures["total"]["x_realtime"] == pytest.approx(row["x_realtime"], rel=0.01)
    assert all(v > 0 for v in figures["total"]["ms_per_frame"].values())
    assert figures["targets"][0]["name"] == "analyze path"


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["bench", "no/such/video.mp4"], "no such file"),
        (["bench", "{video}", "--input-wh", "256"], "WIDTHxHEIGHT"),
        (["bench", "{video}", "--input-wh", "250x192"], "multiples of 32"),
        (["bench", "{video}", "--threads", "0"], "--threads"),
        (["bench", "{video}", "--frames", "0"], "--frames"),
        (["bench", "{video}", "--limit", "3"], "--limit applies"),
        (["bench", "{video}", "--analyze-manifest", "m.json"], "either VIDEO"),
        (["bench", "--analyze-manifest", "m.json", "--frames", "3"], "--frames applies"),
        (["bench", "--analyze-manifest", "no/such/manifest.json"], "no such manifest"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], match: str, tiny_video: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([a.replace("{video}", str(tiny_video)) for a in argv]) == 2
    assert match in _one_line_error(capsys)


def test_no_data_and_no_video(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FALLWATCH_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setattr(data, "REPO_ROOT", tmp_path / "repo")
    assert main(["bench", "--frames", "1"]) == 2
    assert "FALLWATCH_DATA" in _one_line_error(capsys)


def test_zoom_compare_on_real_clip(
    falls_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "zoom.json"
    clip = falls_dir / data.DEFAULT_CLIP
    argv = [
        "bench",
        str(clip),
        "--zoom",
        "compare",
        "--frames",
        "20",
        "--warmup",
        "1",
        "--json",
        str(out),
    ]
    assert main(argv) == 0
    figures = json.loads(out.read_text())
    assert set(figures["runs"]) == {"off", "on"}
    assert "zoom" not in figures["runs"]["off"]["stages_ms"]
    assert figures["runs"]["on"]["stages_ms"]["zoom"]["frames"] == 20
    for run in figures["runs"].values():
        assert run["frames"] == 20 and run["cpu"]["ms_per_frame"] > 0
        assert run["machine"]["load_1min_start"] is not None
    assert isinstance(figures["zoom_added_cpu_percent"], float)
    assert {t["name"] for t in figures["targets"]} == {"zoom CPU cost", "end-to-end"}
    printed = capsys.readouterr().out
    for words in ("zoom adds", "load average", "what the zoom changed"):
        assert words in printed


def test_zoom_compare_needs_a_pose_model(
    tiny_video: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", str(tiny_video), "--zoom", "compare", "--detector", "yolo"]) == 2
    assert "has no zoomed look" in _one_line_error(capsys)
