"""A learned "fallen / collapsed" scorer over a short time window of each tracked person.

Per frame, each person gives a row of posture features (`frame_features`): body, torso
and thigh angles, box and keypoint aspect, keypoint visibility, and, relative to that
person's own upright baseline, how far the top of the body has dropped and how much the
body has shrunk. A window of the last `window_s` seconds is summarised
(`window_features`: mean, min, max, last value and slope of each row feature, the share
of frames where it was seen, and the fastest drop of the top of the body) and a small
model turns the summary into p(fallen) in [0, 1].

The model is a logistic regression over standardised window features: a few hundred
numbers in a JSON file that numpy evaluates, so the runtime needs nothing else. It was
chosen over trees or a small network because the training data is about a hundred
labelled falls from some twenty rooms: a linear model on well-chosen features is the one
least likely to learn a room instead of a fall (see docs/learned.md for the figures).

The rules keep the decisions a model cannot learn from so few clips: the fall-seen
descent, the confirm vote, zones and sizes. `SequenceScorer.combine` is how the model's
p enters the per-frame down decision of `FallClassifier`.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from fallwatch.posture import PostureFeatures

MODEL_FORMAT = 1
"""Bump when the weights file layout changes; a file of another format is refused."""

SHIPPED_MODEL = "sequence.json"
"""The weights file in `fallwatch/fall/models/` used when no path is configured."""

FRAME_FEATURES: tuple[str, ...] = (
    "body_angle",
    "torso_angle",
    "thigh_angle",
    "aspect_wh",
    "keypoint_aspect_wh",
    "visible_fraction",
    "top_drop",
    "height_shrink",
)
"""Per-frame row: angles in units of 90 degrees (0 upright, 1 horizontal); aspects clipped
to [0, 4]; `top_drop` is how far the top of the body is below its upright place and
`height_shrink` how much shorter the box is than upright, both in upright heights (NaN
before the person was seen upright)."""

STATS: tuple[str, ...] = ("mean", "min", "max", "last", "slope_per_s")

WINDOW_EXTRA: tuple[str, ...] = ("max_drop_speed_per_s", "coverage")
"""Fastest frame-to-frame drop of the top (upright heights a second) and the share of the
window's expected frames that were seen."""

DEFAULT_WINDOW_S = 2.0
"""Long enough to hold a fall's descent and the first second down, short enough that a
person who got up leaves it within the recover time."""
NOMINAL_FPS = 12.0
"""Frames a second the coverage feature counts against (the default analysis rate)."""
TRACK_FORGET_S = 5.0
"""A track's history is dropped after this long without an update (it was lost)."""

Arr = npt.NDArray[np.float64]


def window_feature_names() -> tuple[str, ...]:
    """Names of the `window_features` vector, in order."""
    names = [f"{f}.{s}" for f in FRAME_FEATURES for s in STATS]
    names += [f"{f}.seen" for f in FRAME_FEATURES]
    return (*names, *WINDOW_EXTRA)


def frame_features(
    f: PostureFeatures, i: int, baseline_top_y: float | None, baseline_height_px: float | None
) -> Arr:
    """The `(len(FRAME_FEATURES),)` row of person `i`; NaN where a part is unseen."""
    nan = float("nan")
    drop = shrink = nan
    if baseline_top_y is not None and baseline_height_px is not None and baseline_height_px > 0:
        drop = float(np.clip((float(f.top_y[i]) - baseline_top_y) / baseline_height_px, -1.0, 2.0))
        shrink = float(np.clip(1.0 - float(f.height_px[i]) / baseline_height_px, -1.0, 1.0))
    return np.array(
        [
            float(f.body_angle_deg[i]) / 90.0,
            float(f.torso_angle_deg[i]) / 90.0,
            float(f.thigh_angle_deg[i]) / 90.0,
            float(np.clip(f.aspect_wh[i], 0.0, 4.0)),
            float(np.clip(f.keypoint_aspect_wh[i], 0.0, 4.0)),
            float(f.visible_fraction[i]),
            drop,
            shrink,
        ],
        np.float64,
    )


def window_features(times_s: npt.ArrayLike, rows: npt.ArrayLike, window_s: float) -> Arr:
    """Summary of `rows` `(k, len(FRAME_FEATURES))` seen at `times_s` `(k,)`, newest last.

    Unseen values (NaN) are left out of each statistic; a feature never seen in the
    window gets 0 for its statistics and 0 for its `seen` share, so the model can tell
    "unseen" from "upright".
    """
    t = np.asarray(times_s, np.float64)
    x = np.asarray(rows, np.float64).reshape(len(t), len(FRAME_FEATURES))
    if len(t) == 0:
        raise ValueError("window_features needs at least one frame, got 0")
    seen = np.isfinite(x)
    count = seen.sum(axis=0)
    any_seen = count > 0
    filled = np.where(seen, x, 0.0)
    n = np.maximum(count, 1)
    mean = np.where(any_seen, filled.sum(axis=0) / n, 0.0)
    lo = np.where(any_seen, np.where(seen, x, np.inf).min(axis=0), 0.0)
    hi = np.where(any_seen, np.where(seen, x, -np.inf).max(axis=0), 0.0)
    newest_seen = len(t) - 1 - np.argmax(seen[::-1], axis=0)
    last = np.where(any_seen, filled[newest_seen, np.arange(x.shape[1])], 0.0)
    # Least-squares slope over each feature's seen frames only.
    t_mean = (seen * t[:, None]).sum(axis=0) / n
    dt = np.where(seen, t[:, None] - t_mean, 0.0)
    var_t = (dt * dt).sum(axis=0)
    cov = (dt * np.where(seen, x - mean, 0.0)).sum(axis=0)
    slope = np.where(var_t > 1e-9, cov / np.maximum(var_t, 1e-9), 0.0)
    stats = np.stack([mean, lo, hi, last, slope], axis=1).reshape(-1)
    drop = x[:, FRAME_FEATURES.index("top_drop")]
    speeds = np.diff(drop) / np.maximum(np.diff(t), 1e-3)
    speeds = speeds[np.isfinite(speeds)]
    max_speed = float(np.clip(speeds.max(), -10.0, 10.0)) if len(speeds) else 0.0
    coverage = min(1.0, len(t) / max(1.0, window_s * NOMINAL_FPS))
    return np.concatenate([stats, count / len(t), [max_speed, coverage]])


@dataclass(frozen=True)
class SequenceModel:
    """Logistic regression over standardised window features, with its provenance.

    `p = 1 / (1 + exp(-(((x - mean) / scale) . weights + bias)))` for a window vector
    `x` of `window_feature_names()`.
    """

    weights: Arr
    bias: float
    mean: Arr
    scale: Arr
    window_s: float = DEFAULT_WINDOW_S
    feature_names: tuple[str, ...] = field(default_factory=window_feature_names)
    metadata: dict[str, Any] = field(default_factory=dict)
    """Data version (manifest sha256), training command, date, counts, LOSO figures."""

    def __post_init__(self) -> None:
        d = len(self.feature_names)
        for name in ("weights", "mean", "scale"):
            arr = getattr(self, name)
            if arr.shape != (d,):
                raise ValueError(f"{name} must be ({d},) like feature_names, got {arr.shape}")
        if not (self.scale > 0).all():
            raise ValueError("scale must be > 0 everywhere")
        if not 0 < self.window_s <= 30:
            raise ValueError(f"window_s must be in (0, 30], got {self.window_s}")

    def predict(self, x: npt.ArrayLike) -> Arr:
        """p(fallen) `(n,)` for window vectors `(n, d)` (or one `(d,)` -> `(1,)`)."""
        arr = np.atleast_2d(np.asarray(x, np.float64))
        if arr.shape[1] != len(self.feature_names):
            raise ValueError(f"x must be (n, {len(self.feature_names)}), got {arr.shape}")
        z = ((arr - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": MODEL_FORMAT,
            "kind": "logistic",
            "window_s": self.window_s,
            "feature_names": list(self.feature_names),
            "weights": [round(float(v), 6) for v in self.weights],
            "bias": round(float(self.bias), 6),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "metadata": self.metadata,
        }

    @classmethod
    def from_json(cls, data: Any, source: str = "model") -> SequenceModel:
        if not isinstance(data, dict):
            raise ValueError(f"{source}: expected a JSON object, got {type(data).__name__}")
        if data.get("format") != MODEL_FORMAT or data.get("kind") != "logistic":
            raise ValueError(
                f"{source}: expected format {MODEL_FORMAT} kind 'logistic', got format "
                f"{data.get('format')!r} kind {data.get('kind')!r}"
            )
        names = tuple(data["feature_names"])
        if names != window_feature_names():
            # Weights are only meaningful for the features they were trained on.
            raise ValueError(
                f"{source}: trained on other features than this fallwatch computes; retrain it"
            )
        return cls(
            weights=np.asarray(data["weights"], np.float64),
            bias=float(data["bias"]),
            mean=np.asarray(data["mean"], np.float64),
            scale=np.asarray(data["scale"], np.float64),
            window_s=float(data["window_s"]),
            feature_names=names,
            metadata=dict(data.get("metadata", {})),
        )

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path | None = None) -> SequenceModel:
        """Read a weights file; `None` reads the one shipped in `fallwatch/fall/models/`."""
        if path is None:
            ref = resources.files("fallwatch.fall.models") / SHIPPED_MODEL
            return cls.from_json(json.loads(ref.read_text(encoding="utf-8")), SHIPPED_MODEL)
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"{path}: no such sequence model file") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
        except KeyError as exc:
            raise ValueError(f"{path}: missing {exc}") from None
        return cls.from_json(data, str(path))


Combine = Literal["either", "both", "model"]


@dataclass
class _History:
    times_s: deque[float] = field(default_factory=deque)
    rows: deque[Arr] = field(default_factory=deque)
    last_t_s: float = 0.0


class SequenceScorer:
    """Keeps each track's recent feature rows and scores its window with a `SequenceModel`."""

    def __init__(self, model: SequenceModel, threshold: float = 0.5, combine: Combine = "either"):
        if not 0 <= threshold <= 1:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        if combine not in ("either", "both", "model"):
            raise ValueError(f"combine must be 'either', 'both' or 'model', got {combine!r}")
        self.model = model
        self.threshold = threshold
        self.combine_mode: Combine = combine
        self.reset()

    def reset(self) -> None:
        self._tracks: dict[int, _History] = {}

    def window(self, track_id: int, t_s: float, row: Arr) -> Arr:
        """Add `row` of `track_id` at `t_s` and return its window vector."""
        h = self._tracks.get(track_id)
        if h is None:
            h = self._tracks[track_id] = _History()
        h.times_s.append(t_s)
        h.rows.append(row)
        h.last_t_s = t_s
        while h.times_s and t_s - h.times_s[0] > self.model.window_s:
            h.times_s.popleft()
            h.rows.popleft()
        for tid in [k for k, v in self._tracks.items() if t_s - v.last_t_s > TRACK_FORGET_S]:
            del self._tracks[tid]
        return window_features(np.asarray(h.times_s), np.stack(h.rows), self.model.window_s)

    def update(
        self,
        track_id: int,
        t_s: float,
        f: PostureFeatures,
        i: int,
        baseline_top_y: float | None,
        baseline_height_px: float | None,
    ) -> float:
        """p(fallen) of person `i` of this frame, tracked as `track_id`, at `t_s`."""
        x = self.window(track_id, t_s, frame_features(f, i, baseline_top_y, baseline_height_px))
        return float(self.model.predict(x)[0])

    def combine(self, rules_down: bool, p_fallen: float, fall_seen: bool) -> bool:
        """The per-frame down decision from the rules' and the model's.

        `either`: down when the rules say so, or when a fall was seen and the model says
        fallen, so the model can only add down time after a fast descent (a fall the
        rules' posture score misses: towards the camera, half out of frame).
        `both`: down only when the rules and the model agree (the model vetoes).
        `model`: the model alone decides down; the rules still decide fall-seen, the
        vote and the zones.
        """
        model_down = p_fallen >= self.threshold
        if self.combine_mode == "model":
            return model_down
        if self.combine_mode == "both":
            return rules_down and model_down
        return rules_down or (fall_seen and model_down)


def sigmoid(z: Arr) -> Arr:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))


def fit_logistic(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    sample_weight: npt.ArrayLike | None = None,
    l2: float = 0.01,
    iterations: int = 50,
) -> tuple[Arr, float, Arr, Arr]:
    """L2-regularised logistic regression by Newton steps, numpy only.

    `x` `(n, d)` window vectors, `y` `(n,)` 0/1; returns `(weights, bias, mean, scale)`
    for `SequenceModel`. Features are standardised first; the loss is the weighted mean
    log loss (weights normalised to sum 1) plus `l2 / 2` times the squared standardised
    weights (not the bias).
    """
    xa = np.asarray(x, np.float64)
    ya = np.asarray(y, np.float64)
    if xa.ndim != 2 or len(xa) != len(ya):
        raise ValueError(f"x must be (n, d) and y (n,), got {xa.shape} and {ya.shape}")
    if len(np.unique(ya)) < 2:
        raise ValueError("training needs both fallen and not-fallen windows")
    w_s = np.ones(len(ya)) if sample_weight is None else np.asarray(sample_weight, np.float64)
    w_s = w_s / w_s.sum()
    mean = (xa * w_s[:, None]).sum(axis=0)
    std = np.sqrt((((xa - mean) ** 2) * w_s[:, None]).sum(axis=0))
    scale = np.where(std > 1e-6, std, 1.0)
    z = np.concatenate([(xa - mean) / scale, np.ones((len(xa), 1))], axis=1)
    beta = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(iterations):
        p = sigmoid(z @ beta)
        grad = z.T @ (w_s * (p - ya)) + penalty * beta
        hess = (z * (w_s * p * (1 - p))[:, None]).T @ z + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if float(np.abs(step).max()) < 1e-7:
            break
    if not np.isfinite(beta).all():
        raise ValueError("logistic regression did not converge")
    return beta[:-1], float(beta[-1]), mean, scale
