"""`fallwatch bench-serve --mix`: the camera plan, the rate figures, and a tiny real run."""

from __future__ import annotations

from pathlib import Path

import pytest

from fallwatch.bench import data
from fallwatch.bench.mix_bench import MixSettings, figures, plan
from fallwatch.bench.mix_clips import CameraKind, MixClip
from fallwatch.cli import main
from fallwatch.pipeline.packets import CameraStats
from fallwatch.sources.capture import ConnectionState


def settings(cameras: int, empty_share: float, fall_cameras: int) -> MixSettings:
    return MixSettings(cameras, empty_share, fall_cameras, 5.0, 1.0, 1.0, 0.0, 0)


def clip(kind: CameraKind, name: str) -> MixClip:
    return MixClip(kind, Path(name), 10.0, 25.0, 3.0 if kind is CameraKind.FALL else None)


@pytest.mark.parametrize(
    ("cameras", "empty_share", "falls", "expected"),
    [
        (24, 0.67, 2, {"empty": 16, "fall": 2, "walking": 6}),
        (3, 0.34, 1, {"empty": 1, "fall": 1, "walking": 1}),
        (4, 1.0, 2, {"empty": 4, "fall": 0, "walking": 0}),
        (5, 0.0, 9, {"empty": 0, "fall": 5, "walking": 0}),
    ],
)
def test_plan_splits_the_cameras_by_kind_and_rotates_the_clips(
    cameras: int, empty_share: float, falls: int, expected: dict[str, int]
) -> None:
    empty = [clip(CameraKind.EMPTY, "e1"), clip(CameraKind.EMPTY, "e2")]
    walking = [clip(CameraKind.WALKING, f"w{i}") for i in range(3)]
    fall = [clip(CameraKind.FALL, "f1")]
    cams = plan(settings(cameras, empty_share, falls), empty, walking, fall)
    assert len(cams) == cameras
    counts = {k.value: sum(c.kind is k for c in cams.values()) for k in CameraKind}
    assert counts == expected
    empties = [c.path.name for c in cams.values() if c.kind is CameraKind.EMPTY]
    assert empties[:3] == ["e1", "e2", "e1"][: len(empties)]
    assert all(cid.startswith(c.kind.value) for cid, c in cams.items())


def stats(t: float, analysed: int, mode: str, frames: int = 0) -> CameraStats:
    return CameraStats(
        camera_id="c",
        connection=ConnectionState.CONNECTED,
        analysis_fps=0.0,
        target_fps=5.0,
        source_fps=25.0,
        frames=frames,
        analysed=analysed,
        dropped=frames - analysed,
        inference_ms=0.0,
        latency_ms=0.0,
        reconnects=0,
        last_error=None,
        retry_in_s=None,
        people=0,
        wall_time=t,
        rate_mode=mode,
    )


def test_figures_count_rates_per_mode_and_leave_out_the_switches() -> None:
    samples = [
        stats(0.0, 0, "idle", 0),
        stats(2.0, 2, "idle", 50),  # idle 2 s: 1 fps
        stats(3.0, 6, "full", 75),  # the switch: counted in neither mode
        stats(5.0, 16, "full", 125),  # full 2 s: 5 fps
        stats(6.0, 21, "full", 150),
    ]
    f = figures(samples)
    assert f.idle_fps == pytest.approx(1.0)
    assert f.full_fps == pytest.approx(5.0)
    assert f.full_share == pytest.approx(3 / 6)
    assert f.read_fps == pytest.approx(25.0)
    assert f.drop_per_s == pytest.approx((150 - 21) / 6)
    assert figures(samples[:2]).full_fps is None


def test_mix_on_a_tiny_control_room_prints_its_table(
    falls_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not (falls_dir.parent / "falls2" / "manifest.json").is_file():
        pytest.skip("shared clips falls2/ not found")
    argv = ["bench-serve", "--mix", "--cameras", "3", "--empty-share", "0.34"]
    argv += ["--fall-cameras", "1", "--duration-s", "3", "--warmup-s", "8"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "3 camera(s) (1 empty, 1 walking, 1 fall)" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if "-" in line[:10]}
    assert set(rows) >= {"empty-1", "fall-2", "walking-3"}, out
    # The empty room is idle by now (5 s hold after the first frame, 8 s ago at least):
    # 0 % at full rate.
    assert rows["empty-1"][1] == "0", out
    assert rows["walking-3"][1] == "100", out
    assert "load average" in out and "target:" in out


def test_mix_without_the_shared_clips_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FALLWATCH_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setattr(data, "REPO_ROOT", tmp_path / "repo")
    assert main(["bench-serve", "--mix", "--cameras", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert "FALLWATCH_DATA" in err and "\n" not in err


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--idle-fps", "9"], "--idle-fps must be > 0 and <= --analysis-fps"),
        (["--empty-share", "1.5"], "--empty-share in [0, 1]"),
    ],
)
def test_mix_bad_options_are_one_line(
    extra: list[str], match: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench-serve", "--mix", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert match in err and "\n" not in err
