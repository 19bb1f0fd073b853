"""`fallwatch analyze` on a real clip, and its answers to bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest

from tests.fakes.media import probe

CLIP = "videos/upfall/UPFall_S1_A01_T1_Cam2.mp4"


def fallwatch(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "fallwatch.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_analyze_writes_annotated_video_and_event_report(falls_dir, tmp_path):
    out, report = tmp_path / "a.mp4", tmp_path / "ev.json"
    r = fallwatch(
        "analyze",
        falls_dir / CLIP,
        "-o",
        out,
        "--report",
        report,
        "--confirm-s",
        "2",
        "--no-progress",
    )
    assert r.returncode == 0, r.stderr
    data = json.loads(report.read_text())
    alerts = [e for e in data["events"] if e["kind"] == "fall"]
    # Ground truth: down from 3.5 s to the end of the clip.
    assert len(alerts) == 1 and 2.5 <= alerts[0]["t_s"] <= 7.9
    assert data["settings"]["fall"]["confirm_s"] == 2.0
    # H.264 in MP4, which browsers play (MPEG-4 Part 2 they refuse).
    assert probe(out).codec == "h264"
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == data["frames"] == 142
    cap.set(cv2.CAP_PROP_POS_FRAMES, 130)
    ok, img = cap.read()
    assert ok
    # The alert banner is drawn in red on the annotated frame.
    red = (img[:, :, 2] > 200) & (img[:, :, 1] < 60) & (img[:, :, 0] < 60)
    assert red.sum() > 500


def test_zone_over_the_faller_suppresses_the_alert(falls_dir, tmp_path):
    zones = tmp_path / "zones.yaml"
    zones.write_text(
        "zones:\n  - name: mat\n    polygon_xy: [[0, 250], [640, 250], [640, 480], [0, 480]]\n"
    )
    report = tmp_path / "ev.json"
    r = fallwatch(
        "analyze",
        falls_dir / CLIP,
        "--no-video",
        "--report",
        report,
        "--confirm-s",
        "2",
        "--zones",
        zones,
        "--no-progress",
    )
    assert r.returncode == 0, r.stderr
    assert [e for e in json.loads(report.read_text())["events"] if e["kind"] != "recovered"] == []


def _assert_one_line_error(r, *needles):
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("fallwatch:")]
    assert len(lines) == 1, r.stderr
    for n in needles:
        assert n in lines[0]


def test_missing_file(tmp_path):
    _assert_one_line_error(fallwatch("analyze", tmp_path / "nope.mp4"), "no such file")


def test_file_that_is_not_a_video(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is not a video")
    _assert_one_line_error(fallwatch("analyze", bad), "notes.mp4")


def test_video_with_no_frames(tmp_path):
    empty = tmp_path / "empty.avi"
    w = cv2.VideoWriter(str(empty), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    w.release()
    _assert_one_line_error(fallwatch("analyze", empty), "empty.avi")


@pytest.mark.parametrize(
    "zones_text,needle",
    [
        ("zones:\n  - polygon_xy: [[0, 0], [10, 10]]\n", "at least 3 points"),
        ("zones:\n  - polygon_xy: [[0, 0], [10, 10], [20, 20]]\n", "enclose an area"),
        ("zones:\n  - polygon: [[0, 0], [10, 0], [10, 10]]\n", "polygon"),
        ("zones: [unclosed\n", "not valid YAML"),
    ],
)
def test_invalid_zones(tmp_path, zones_text, needle):
    video = tmp_path / "v.avi"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for _ in range(3):
        w.write(np.zeros((48, 64, 3), np.uint8))
    w.release()
    zones = tmp_path / "z.yaml"
    zones.write_text(zones_text)
    _assert_one_line_error(fallwatch("analyze", video, "--zones", zones), needle)


def test_invalid_confirm_time_names_the_field(tmp_path):
    video = tmp_path / "v.avi"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    w.write(np.zeros((48, 64, 3), np.uint8))
    w.release()
    _assert_one_line_error(fallwatch("analyze", video, "--confirm-s", "-1"), "confirm_s")


def test_analyze_report_goes_next_to_the_output_not_into_the_data_folder(falls_dir, tmp_path):
    """With `-o` elsewhere and no `--report`, nothing is written beside the input clip."""
    import shutil

    data = tmp_path / "data"
    data.mkdir()
    clip = data / "clip.mp4"
    shutil.copy(falls_dir / CLIP, clip)
    out = tmp_path / "out" / "a.mp4"
    out.parent.mkdir()
    r = fallwatch("analyze", clip, "-o", out, "--confirm-s", "2", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in data.iterdir()) == ["clip.mp4"]
    assert json.loads((out.parent / "a.events.json").read_text())["frames"] == 142


def test_a_fall_shorter_than_confirm_s_is_listed_with_why_it_raised_no_alert(falls_dir, tmp_path):
    """The clip ends 4.4 s after the person lands: under the default 10 s confirm time no
    alert, and the command says who was down, when, for how long and why."""
    report = tmp_path / "ev.json"
    r = fallwatch("analyze", falls_dir / CLIP, "--no-video", "--no-progress", "--report", report)
    assert r.returncode == 0, r.stderr
    assert "0 alert(s)" in r.stdout
    assert "for less than confirm_s (10 s)" in r.stdout, r.stdout
    listed = re.findall(
        r"track (\d+): down at ([\d.]+) s for ([\d.]+) s, below confirm_s 10 s", r.stdout
    )
    assert len(listed) == 1, r.stdout
    track, start_s, down_for_s = int(listed[0][0]), float(listed[0][1]), float(listed[0][2])
    # Ground truth: on the floor from about 3.5 s to the end of the 7.9 s clip.
    assert 2.5 <= start_s <= 4.5 and 3.0 <= down_for_s <= 5.4
    episodes = json.loads(report.read_text())["down_episodes"]
    assert [(e["track_id"], e["alerted"]) for e in episodes] == [(track, False)]
    assert abs(episodes[0]["start_s"] - start_s) < 0.01

    # With a confirm time the clip can hold, the same episode alerts and nothing is listed.
    r = fallwatch(
        "analyze",
        falls_dir / CLIP,
        "--no-video",
        "--no-progress",
        "--report",
        report,
        "--confirm-s",
        "2",
    )
    assert r.returncode == 0, r.stderr
    assert "1 alert(s)" in r.stdout and "without an alert" not in r.stdout, r.stdout
    assert [e["alerted"] for e in json.loads(report.read_text())["down_episodes"]] == [True]
