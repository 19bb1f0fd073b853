"""The zoom's cost and effect: the frame bench with the zoomed second look off, then on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fallwatch.bench.frame_bench import FrameBenchReport
from fallwatch.bench.machine import MachineInfo
from fallwatch.config.fall import FallConfig


@dataclass(frozen=True)
class ZoomCost:
    """What the zoom adds, two ways: within the zoom-on run (the zoom stage's CPU over
    the rest of the chain's; a shared machine's load drifts between runs and moves every
    stage), and between the runs (which would also catch a cost outside the stage, such
    as a second interpreter's threads slowing the main one)."""

    added_cpu_pct: float
    between_cpu_pct: float
    added_wall_pct: float

    @classmethod
    def of(cls, off: FrameBenchReport, on: FrameBenchReport) -> ZoomCost:
        return cls(
            added_cpu_pct=on.zoom_cpu_percent_of_rest,
            between_cpu_pct=100 * (on.cpu_ms_per_frame / off.cpu_ms_per_frame - 1)
            if off.cpu_s > 0
            else 0.0,
            added_wall_pct=100 * (on.ms_per_frame / off.ms_per_frame - 1),
        )


def zoom_run_rows(runs: dict[str, tuple[FrameBenchReport, MachineInfo]]) -> list[str]:
    """The table of the two runs, one row each, with the load average beside it."""
    lines = [
        (
            f"{'zoom':<6}{'ms/frame':>10}{'fps':>8}{'CPU ms/frame':>14}{'CPU %':>7}{'zoom ms':>9}"
            f"{'crops':>7}{'frames zoomed':>15}   load average"
        ),
    ]
    for name, (r, m) in runs.items():
        z = r.stages.get("zoom")
        loads = " -> ".join(
            f"{x:.2f}" for x in (m.load_1min_start, m.load_1min_end) if x is not None
        )
        lines.append(
            f"{name:<6}{r.ms_per_frame:>10.2f}{r.fps:>8.1f}{r.cpu_ms_per_frame:>14.2f}"
            f"{r.cpu_percent:>7.0f}{(z.mean_ms if z else 0.0):>9.2f}{r.zoom_crops:>7}"
            f"{f'{r.zoomed_frames}/{r.frames}':>15}   {loads or 'unknown'}"
        )
    return lines


DOWN_SCORE_CHANGE = 0.1
"""A per-frame max down score that moves by at least this much counts as changed."""


def zoom_effect(off: FrameBenchReport, on: FrameBenchReport) -> dict[str, Any]:
    """What the zoom changed between two runs over the same frames: its looks, and the
    per-frame highest down score (NaN where nobody was tracked)."""
    a = np.asarray(off.max_down_scores, np.float64)
    b = np.asarray(on.max_down_scores, np.float64)
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    both = np.isfinite(a) & np.isfinite(b)
    down_enter = FallConfig().down_enter
    gained = [
        look.zoom_visible - look.main_visible
        for looks in on.zoom_looks
        for look in looks
        if look.zoom_visible > look.main_visible
    ]
    return {
        "frames": n,
        "looks": on.zoom_crops,
        "actions": on.zoom_actions(),
        "looks_with_more_keypoints": on.zoom_gained_keypoints,
        "mean_keypoints_gained": round(float(np.mean(gained)), 2) if gained else 0.0,
        "frames_with_someone_tracked": {
            "off": int(np.isfinite(a).sum()),
            "on": int(np.isfinite(b).sum()),
        },
        "frames_down_score_changed": int((np.abs(a - b)[both] >= DOWN_SCORE_CHANGE).sum()),
        "frames_judged_down": {
            "off": int((np.nan_to_num(a) >= down_enter).sum()),
            "on": int((np.nan_to_num(b) >= down_enter).sum()),
        },
    }


def render_zoom_effect(effect: dict[str, Any]) -> list[str]:
    actions = effect["actions"]
    tracked, down = effect["frames_with_someone_tracked"], effect["frames_judged_down"]
    return [
        (
            f"{effect['looks']} look(s): {actions['replaced']} replaced the main pass's person, "
            f"{actions['added']} added one it had lost, {actions['kept']} kept it (it was better), "
            f"{actions['missed']} found nobody"
        ),
        (
            f"{effect['looks_with_more_keypoints']} look(s) gave more visible keypoints than the "
            f"main pass (+{effect['mean_keypoints_gained']:.1f} on average)"
        ),
        (
            f"frames with someone tracked: {tracked['off']} -> {tracked['on']} of {effect['frames']}; "
            f"highest down score changed by >= {DOWN_SCORE_CHANGE:g} on "
            f"{effect['frames_down_score_changed']} frame(s) tracked in both; frames with someone "
            f"judged down (>= {FallConfig().down_enter:g}): {down['off']} -> {down['on']}"
        ),
    ]
