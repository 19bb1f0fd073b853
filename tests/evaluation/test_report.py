"""The report contract: `clips[].file` exactly as in the manifest and `alerts_s` in seconds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fallwatch.evaluation.manifest import Clip
from fallwatch.evaluation.plots import plot_clip, plot_name
from fallwatch.evaluation.render import clip_line, render_markdown, render_text
from fallwatch.evaluation.report import ClipResult, EvalReport, to_json, write_json
from fallwatch.evaluation.runner import Alert, ClipRun
from fallwatch.evaluation.scoring import score_clip
from tests.fakes.evaluation import make_clip

SETTINGS = {
    "manifest": "m.json",
    "confirm_s": 2.0,
    "confirm_s_note": "eval default for short clips",
    "found_down_s": 30.0,
    "detector": "pose",
    "window_tolerance_s": 1.0,
    "fallwatch_version": "0.1.0",
}


def make_result(
    index: int,
    entry: dict[str, Any],
    alerts_s: list[float],
    fps: float = 18.0,
    frames: int = 126,
    cached: bool = False,
) -> ClipResult:
    clip = Clip.model_validate(entry)
    times = np.arange(frames) / fps
    scores = np.where(times > 2.0, 0.9, 0.1).astype(np.float32)
    scores[:5] = np.nan  # nobody tracked at first
    run = ClipRun(
        path=Path(clip.file),
        alerts=tuple(Alert(t, "fall", 1, t - 2.0) for t in alerts_s),
        times_s=times,
        max_down_score=scores,
        fps=fps,
        wall_s=frames / 25.0,
        stage_ms={"detect": 1000.0},
        cached=cached,
    )
    outcome = score_clip(
        run.alerts_s, clip.label, clip.duration_s or run.duration_s, clip.uncertain
    )
    return ClipResult(index, clip, run, outcome)


@pytest.fixture
def report() -> EvalReport:
    clips = [
        make_result(0, make_clip("./videos/Fall 1.mp4"), [4.2777777]),
        make_result(1, make_clip("videos/adl.mp4", fall=False, hard_negative=True), [1.5, 3.0]),
        make_result(2, {**make_clip("videos/bed.mp4"), "uncertain": True}, []),
        make_result(3, make_clip("videos/quiet.mp4", fall=False), [], cached=True),
        ClipResult(
            4,
            Clip.model_validate(make_clip("videos/gone.mp4")),
            error="VideoError: no such file",
        ),
    ]
    return EvalReport(SETTINGS, clips, stills=None, wall_s=12.0)


def test_json_keeps_file_exactly_and_alert_seconds(report: EvalReport, tmp_path: Path) -> None:
    path = tmp_path / "out" / "report.json"
    write_json(report, path)
    data = json.loads(path.read_text())
    files = [c["file"] for c in data["clips"]]
    assert files == [
        "./videos/Fall 1.mp4",
        "videos/adl.mp4",
        "videos/bed.mp4",
        "videos/quiet.mp4",
        "videos/gone.mp4",
    ]
    assert [c["alerts_s"] for c in data["clips"]] == [
        [4.277778],
        [1.5, 3.0],
        [],
        [],
        [],
    ]
    assert data["settings"]["confirm_s"] == 2.0 and data["settings"]["fallwatch_version"] == "0.1.0"


def test_json_clip_fields(report: EvalReport) -> None:
    data = to_json(report)
    hit, fa, unc, quiet, gone = data["clips"]
    assert (
        hit["matched"] and hit["delay_s"] == pytest.approx(2.278) and hit["window_s"] == [1.0, 8.0]
    )
    assert hit["label"]["down_until_s"] == "end" and hit["frames"] == 126 and hit["fps"] == 18.0
    assert fa["false_alarm"] and fa["false_alarms_s"] == [1.5, 3.0] and fa["hard_negative"]
    assert unc["uncertain"] and unc["verdict"] == "missed"
    assert quiet["cached"] and quiet["verdict"] == "quiet"
    assert (
        gone["error"] == "VideoError: no such file"
        and gone["alerts_s"] == []
        and gone["matched"] is None
    )
    assert data["failed_clips"] == [
        {"file": "videos/gone.mp4", "name": "videos/gone.mp4", "error": "VideoError: no such file"}
    ]


def test_headline_leaves_out_uncertain_and_failed_clips(report: EvalReport) -> None:
    data = to_json(report)
    assert data["totals"]["clips"] == 3
    assert (data["totals"]["fall_clips"], data["totals"]["falls_alerted"]) == (1, 1)
    assert data["totals"]["false_alarms"] == 2 and data["totals"]["hard_negatives_alerted"] == 1
    assert (
        data["uncertain_totals"]["clips"],
        data["uncertain_totals"]["falls_alerted"],
    ) == (1, 0)


def test_speed_counts_only_clips_the_detector_ran_on(report: EvalReport) -> None:
    speed = to_json(report)["speed"]
    assert speed["cached_clips"] == 1 and speed["frames"] == 3 * 126
    assert speed["frames_per_s"] == pytest.approx(25.0)
    assert speed["x_realtime"] == pytest.approx(25.0 / 18.0, rel=1e-2)


def test_text_and_markdown_say_what_matters(report: EvalReport) -> None:
    text = render_text(report)
    assert "confirm_s=2.0 (eval default for short clips)" in text
    assert "falls alerted while down: 1/1 (100%)" in text
    assert "hard negatives alerted: 1/1" in text
    assert "FAILED: 1 clip(s)" in text and "videos/gone.mp4" in text
    md = render_markdown(report)
    assert "## Uncertain clips (reported apart)" in md and "`./videos/Fall 1.mp4`" in md
    assert clip_line(report.clips[0]).split()[0] == "HIT"
    assert clip_line(report.clips[4]).split()[0] == "ERROR"


@pytest.mark.parametrize(
    ("file", "name"),
    [
        ("videos/upfall/a.mp4", "videos__upfall__a.png"),
        ("./x.avi", "x.png"),
        ("../up/x.y.mp4", "..__up__x.y.png"),
        ("c.mp4", "c.png"),
    ],
)
def test_plot_name(file: str, name: str) -> None:
    assert plot_name(file) == name


def test_plot_writes_a_png(report: EvalReport, tmp_path: Path) -> None:
    for c in report.clips[:4]:
        path = tmp_path / plot_name(c.clip.file)
        plot_clip(c, 0.6, path)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_totals_per_source_and_in_total() -> None:
    def sourced(entry: dict[str, Any], repo: str | None) -> dict[str, Any]:
        return {**entry, "source": {"repo": repo}} if repo else entry

    clips = [
        make_result(0, sourced(make_clip("a/fall1.mp4"), "lab/a"), [4.0]),  # hit
        make_result(1, sourced(make_clip("a/fall2.mp4"), "lab/a"), []),  # missed
        make_result(2, sourced(make_clip("a/adl.mp4", fall=False), "lab/a"), [2.0]),
        make_result(3, sourced(make_clip("b/adl.mp4", fall=False), "home/b"), []),
        make_result(4, sourced({**make_clip("b/unsure.mp4"), "uncertain": True}, "home/b"), []),
        # No source.repo: the manifest's label is the source.
        make_result(5, make_clip("c/fall.mp4"), [3.0]),
    ]
    clips[5] = ClipResult(5, clips[5].clip, clips[5].run, clips[5].outcome, manifest="falls2")
    report = EvalReport(SETTINGS, clips, stills=None, wall_s=1.0)
    rows = {r.source: r for r in report.sources}
    assert list(rows) == ["falls2", "home/b", "lab/a"]
    lab = rows["lab/a"].headline
    assert (lab.fall_events_alerted, lab.fall_events) == (1, 2)
    assert (lab.no_fall_clips_alerted, lab.no_fall_clips) == (1, 1)
    home = rows["home/b"]
    assert (home.headline.clips, home.headline.no_fall_clips, home.uncertain.clips) == (1, 1, 1)
    assert rows["falls2"].headline.fall_events_alerted == 1
    text = render_text(report)
    table = text[text.index("Per source") :].splitlines()
    assert table[2].split() == ["falls2", "1", "1/1", "0/0", "0", "0"]
    assert table[4].split() == ["lab/a", "3", "1/2", "1/1", "1", "0"]
    assert table[5].split() == ["total", "5", "2/3", "1/2", "1", "1"]
    data = to_json(report)
    assert [s["source"] for s in data["sources"]] == ["falls2", "home/b", "lab/a"]
    assert data["sources"][2]["totals"]["fall_events_alerted"] == 1
    assert "| **total** | 5 | 2/3 | 1/2 | 1 | 1 |" in render_markdown(report)
