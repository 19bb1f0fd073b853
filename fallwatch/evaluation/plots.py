"""Per-clip timeline plots of an evaluation (matplotlib: the optional `eval` extra)."""

from __future__ import annotations

import importlib
import posixpath
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fallwatch.evaluation.report import ClipResult, clip_flags

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from fallwatch.evaluation.manifest import ClipLabel
    from fallwatch.evaluation.runner import ClipRun
    from fallwatch.evaluation.scoring import ClipOutcome

PLOTS_EXTRA = "eval"
"""The package extra that brings matplotlib."""


def plots_unavailable() -> str | None:
    """Why plots cannot be drawn here (matplotlib missing), or None when they can."""
    try:
        importlib.import_module("matplotlib")
    except ImportError:
        return f"matplotlib is not installed: pip install 'fallwatch[{PLOTS_EXTRA}]'"
    return None


def plot_name(file: str) -> str:
    """A flat PNG name for a manifest `file` (folders joined with `__`)."""
    flat = posixpath.normpath(file.replace("\\", "/")).strip("/").replace("/", "__")
    return flat.rsplit(".", 1)[0] + ".png"


def _draw_falls(ax: Axes, lbl: ClipLabel, out: ClipOutcome, end_s: float) -> None:
    """Each labelled fall: down time, the tolerance before it, and the fall's start."""
    for k, (fall, window) in enumerate(zip(lbl.falls, out.windows_s, strict=True)):
        until = end_s if fall.down_until_s == "end" else float(fall.down_until_s)
        ax.axvspan(
            fall.down_from_s,
            until,
            color="tab:red",
            alpha=0.15,
            label="down (truth)" if k == 0 else None,
        )
        ax.axvspan(
            window[0],
            fall.down_from_s,
            color="tab:red",
            alpha=0.05,
            label="tolerance" if k == 0 else None,
        )
        if fall.fall_start_s is not None:
            ax.axvline(
                fall.fall_start_s,
                color="tab:orange",
                ls="--",
                lw=1.2,
                label="fall start" if k == 0 else None,
            )


def _draw_floor(ax: Axes, lbl: ClipLabel, end_s: float) -> None:
    """A person on the floor who did not fall (a labelled non-fall)."""
    if lbl.person_on_floor and lbl.on_floor_from_s is not None:
        floor_until = lbl.on_floor_until_s
        until = float(floor_until) if isinstance(floor_until, int | float) else end_s
        ax.axvspan(
            lbl.on_floor_from_s,
            until,
            color="grey",
            alpha=0.15,
            label="on floor (not a fall)",
        )


def _draw_alerts(ax: Axes, run: ClipRun, out: ClipOutcome) -> None:
    """Alerts: green where they hit a fall, red where they are false alarms."""
    for k, a in enumerate(run.alerts):
        hit = out.hit_s is not None and a.t_s in out.alerts_s and a.t_s not in out.false_alarms_s
        ax.axvline(
            a.t_s,
            color="tab:green" if hit else "tab:red",
            lw=2,
            label=f"alert ({a.kind})" if k == 0 else None,
        )


def plot_clip(c: ClipResult, down_enter: float, path: Path) -> None:
    """Timeline of the max down score against the labelled fall and down window."""
    # The object API with an Agg canvas: no pyplot global state, no display needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    assert c.run is not None and c.outcome is not None
    run, out, lbl = c.run, c.outcome, c.clip.label
    fig = Figure(figsize=(9, 3), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(
        run.times_s,
        run.max_down_score,
        color="tab:blue",
        lw=1.2,
        label="max down score",
    )
    ax.axhline(down_enter, color="grey", ls=":", lw=1, label=f"down_enter {down_enter}")
    end_s = max(out.duration_s, float(run.times_s[-1]) if run.frames else 0.0)
    _draw_falls(ax, lbl, out, end_s)
    _draw_floor(ax, lbl, end_s)
    _draw_alerts(ax, run, out)
    ax.set_xlim(0, max(end_s, 1e-3))
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("time from first frame (s)")
    ax.set_ylabel("down score")
    flags = clip_flags(c)
    ax.set_title(f"{c.name}: {out.verdict}" + (f" [{flags}]" if flags else ""), fontsize=9)
    ax.legend(loc="upper left", fontsize=7, ncol=3)
    if not np.isfinite(run.max_down_score).any():
        ax.text(
            0.5,
            0.5,
            "nobody tracked",
            transform=ax.transAxes,
            ha="center",
            color="grey",
        )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
