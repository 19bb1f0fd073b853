"""Fitting the learned window scorer: weighted logistic regression on labelled windows."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fallwatch.fall.sequence import DEFAULT_WINDOW_S, SequenceModel, fit_logistic
from fallwatch.training.dataset import ClipData, FloatArr

DEFAULT_L2 = 0.01
"""L2 penalty on the standardised weights."""


def training_set(clips: Sequence[ClipData]) -> tuple[FloatArr, FloatArr, FloatArr]:
    """(x, y, sample weight) of the labelled windows.

    Each clip weighs the same whatever its length, divided by the square root of its
    source's clip count so one big source (66 lab clips of one subject) does not drown
    twenty small ones; then fallen and not-fallen weigh half each.
    """
    per_source: dict[str, int] = {}
    for c in clips:
        per_source[c.source] = per_source.get(c.source, 0) + 1
    xs, ys, ws = [], [], []
    for c in clips:
        keep = c.y >= 0
        for cls in (0, 1):
            sel = keep & (c.y == cls)
            n = int(sel.sum())
            if n == 0:
                continue
            xs.append(c.x[sel])
            ys.append(np.full(n, cls, np.float64))
            ws.append(np.full(n, 1.0 / n / np.sqrt(per_source[c.source])))
    if not xs:
        raise ValueError("no labelled windows to train on")
    x, y, w = np.concatenate(xs), np.concatenate(ys), np.concatenate(ws)
    for cls in (0, 1):
        total = w[y == cls].sum()
        if total <= 0:
            raise ValueError("training needs both fallen and not-fallen windows")
        w[y == cls] *= 0.5 / total
    return x, y, w


def train_model(
    clips: Sequence[ClipData], window_s: float = DEFAULT_WINDOW_S, l2: float = DEFAULT_L2
) -> SequenceModel:
    x, y, w = training_set(clips)
    weights, bias, mean, scale = fit_logistic(x, y, w, l2=l2)
    return SequenceModel(weights, bias, mean, scale, window_s)
