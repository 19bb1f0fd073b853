"""The clips of the control-room mix (`fallwatch.bench.mix_bench`), from the shared data.

Empty rooms and the looped falls are written to a temporary folder (a real empty stretch
played back and forth, a still room with sensor noise, falls held down past confirm_s);
the walkers are UP-Fall's clips as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from fallwatch.bench.data import DataNotFoundError

EMPTY_STRETCH = ("falls2", "videos/ku_fall_detection/cam2.mp4", 0.4)
"""(set, clip, seconds): the room is empty for the clip's first 0.4 s."""
EMPTY_STILL = ("falls2", "videos/yolopost/fall7-prefall.mp4", 0.0)
"""(set, clip, time): an empty living room, the picture the noise is added to."""
EMPTY_LOOP_S = 10.0
SENSOR_NOISE_SIGMA = 4.0
"""Grey levels of Gaussian noise added per frame to the still room (a typical sensor in
indoor light)."""
FALL_CLIPS = (
    ("falls", "videos/upfall/UPFall_S1_A01_T1_Cam2.mp4"),
    ("falls2", "videos/yolopost/fall.mp4"),
    ("falls2", "videos/aswin_har/falling.mp4"),
)
"""Falls from three sources that stay down to the end, each alerted on every pass when
looped (checked offline at four sampling phases; others, e.g. the Le2i lecture room's,
alert a little later, up to confirm_s + 0.8 s)."""
FALL_SPARE_S = 4.0
"""Seconds a fall clip's pass keeps the person down beyond down_from_s + confirm_s."""


class CameraKind(StrEnum):
    EMPTY = "empty"
    WALKING = "walking"
    FALL = "fall"


@dataclass(frozen=True)
class MixClip:
    kind: CameraKind
    path: Path
    loop_s: float
    """Length of one pass of the looped file, seconds (frames / fps)."""
    fps: float
    """The file's frame rate: the rate a camera playing it must read at."""
    down_from_s: float | None = None
    """Fall clips: when the person is down in each pass (manifest label)."""


def _manifest(base: Path, name: str) -> list[dict[str, Any]]:
    path = base / name / "manifest.json"
    if not path.is_file():
        raise DataNotFoundError(f"{path} is missing: --mix needs the shared falls and falls2 clips")
    videos: list[dict[str, Any]] = json.loads(path.read_text())["videos"]
    return videos


def _frames_and_fps(path: Path) -> tuple[int, float]:
    cap = cv2.VideoCapture(str(path))
    try:
        return int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), float(cap.get(cv2.CAP_PROP_FPS)) or 25.0
    finally:
        cap.release()


def _read(path: Path, until_s: float | None = None) -> tuple[list[np.ndarray], float]:
    cap = cv2.VideoCapture(str(path))
    fps = float(cap.get(cv2.CAP_PROP_FPS)) or 25.0
    frames: list[np.ndarray] = []
    while until_s is None or len(frames) <= until_s * fps:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    if not frames:
        raise DataNotFoundError(f"cannot read {path}")
    return frames, fps


def _write(path: Path, frames: list[np.ndarray], fps: float) -> MixClip:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    for f in frames:
        writer.write(f)
    writer.release()
    return MixClip(CameraKind.EMPTY, path, len(frames) / fps, fps)


def empty_clips(base: Path, out_dir: Path) -> list[MixClip]:
    """The two empty rooms, written to `out_dir` (a real stretch, a noisy still)."""
    group, clip, empty_s = EMPTY_STRETCH
    frames, fps = _read(base / group / clip, until_s=empty_s)
    back_and_forth = frames + frames[-2:0:-1]
    stretch = back_and_forth * max(1, round(EMPTY_LOOP_S * fps / len(back_and_forth)))
    group, clip, at_s = EMPTY_STILL
    still = _read(base / group / clip, until_s=at_s)[0][-1].astype(np.float32)
    rng = np.random.default_rng(0)
    still_fps = 15.0
    noisy = [
        np.clip(still + rng.normal(0, SENSOR_NOISE_SIGMA, still.shape), 0, 255).astype(np.uint8)
        for _ in range(round(EMPTY_LOOP_S * still_fps))
    ]
    return [
        _write(out_dir / "empty-stretch.mp4", stretch, fps),
        _write(out_dir / "empty-still-noise.mp4", noisy, still_fps),
    ]


def walking_clips(base: Path) -> list[MixClip]:
    """UP-Fall's walking clips (activity 6)."""
    clips = []
    for v in _manifest(base, "falls"):
        if v.get("label", {}).get("activity") == "Walking":
            path = base / "falls" / v["file"]
            frames, fps = _frames_and_fps(path)
            clips.append(MixClip(CameraKind.WALKING, path, frames / fps, fps))
    if not clips:
        raise DataNotFoundError("no walking clip in falls/manifest.json")
    return clips


def fall_clips(base: Path, confirm_s: float, out_dir: Path) -> list[MixClip]:
    """The `FALL_CLIPS`, each followed by its last frame (the person lying still) with
    sensor noise, so that every pass keeps the person down for confirm_s + `FALL_SPARE_S`:
    looped, each pass raises one fall. Written to `out_dir`."""
    labels = {
        (group, v["file"]): v.get("label", {})
        for group in ("falls", "falls2")
        for v in _manifest(base, group)
    }
    rng = np.random.default_rng(1)
    clips = []
    for group, name in FALL_CLIPS:
        down = labels.get((group, name), {}).get("down_from_s")
        if down is None:
            raise DataNotFoundError(f"{group}/{name} has no down_from_s in its manifest")
        cap = cv2.VideoCapture(str(base / group / name))
        fps = float(cap.get(cv2.CAP_PROP_FPS)) or 25.0
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        path = out_dir / f"fall-{Path(name).stem}.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
        n, last = 0, None
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            writer.write(frame)
            n, last = n + 1, frame
        cap.release()
        if last is None:
            raise DataNotFoundError(f"cannot read {base / group / name}")
        still = last.astype(np.float32)
        while n / fps < float(down) + confirm_s + FALL_SPARE_S:
            noise = rng.normal(0, SENSOR_NOISE_SIGMA / 2, still.shape)
            writer.write(np.clip(still + noise, 0, 255).astype(np.uint8))
            n += 1
        writer.release()
        clips.append(MixClip(CameraKind.FALL, path, n / fps, fps, float(down)))
    return clips
