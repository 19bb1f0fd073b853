"""OpenCV DNN runtime for Darknet models (`.cfg` + `.weights`): tensors in, tensors out.

OpenCV reads a `.weights` file blindly: a file written for another cfg (other
`classes=`, so other `filters=` before each `[yolo]`) or cut short by a failed copy loads
without a word and then detects garbage. So before handing the files to OpenCV we parse
the cfg, count the float32 values its layers need, and compare with the file's size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

# Layers that carry no weights and keep the channel count of their input.
_PASS_THROUGH = {
    "maxpool",
    "avgpool",
    "upsample",
    "dropout",
    "softmax",
    "cost",
    "shortcut",
    "scale_channels",
    "sam",
    "yolo",
    "region",
}


class DarknetModelError(ValueError):
    """A Darknet cfg or weights file is missing, malformed or does not match the other."""


@dataclass(frozen=True)
class DarknetCfg:
    """What Fallwatch needs to know of a Darknet `.cfg`.

    `classes` holds the `classes=` of each `[yolo]`/`[region]` layer in file order;
    `weight_count` the float32 values the matching `.weights` file must hold after its
    header, or None when the cfg has a layer we do not count (then only OpenCV checks).
    """

    path: Path
    input_wh: tuple[int, int]
    channels: int
    letter_box: bool
    classes: tuple[int, ...]
    weight_count: int | None
    sections: list[tuple[str, dict[str, str]]] = field(repr=False, default_factory=list)


def _int(cfg: Path, index: int, kind: str, params: dict[str, str], key: str, default: int) -> int:
    raw = params.get(key)
    if raw is None:
        return default
    try:
        return int(float(raw))
    except ValueError:
        raise DarknetModelError(
            f"{cfg}: [{kind}] section #{index}: {key}={raw!r} is not a number"
        ) from None


def _ints(raw: str) -> list[int]:
    return [int(float(x)) for x in raw.split(",") if x.strip()]


def parse_darknet_cfg(path: Path) -> DarknetCfg:
    """Parse a Darknet `.cfg`, tracking channels layer by layer to count its weights."""
    path = Path(path)
    if not path.is_file():
        raise DarknetModelError(f"Darknet cfg {path} does not exist")
    sections: list[tuple[str, dict[str, str]]] = []
    for line_no, raw in enumerate(
        path.read_text(encoding="utf-8", errors="replace").splitlines(), 1
    ):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise DarknetModelError(f"{path}:{line_no}: malformed section header {line!r}")
            sections.append((line[1:-1].strip().lower(), {}))
        elif "=" in line:
            if not sections:
                raise DarknetModelError(f"{path}:{line_no}: {line!r} comes before any [section]")
            key, value = line.split("=", 1)
            sections[-1][1][key.strip()] = re.sub(r"\s+", "", value)
        else:
            raise DarknetModelError(f"{path}:{line_no}: expected key=value, got {line!r}")
    if not sections or sections[0][0] not in ("net", "network"):
        raise DarknetModelError(f"{path} is not a Darknet cfg: it must start with a [net] section")
    net = sections[0][1]
    layers = sections[1:]
    width = _int(path, 0, "net", net, "width", 416)
    height = _int(path, 0, "net", net, "height", 416)
    channels = _int(path, 0, "net", net, "channels", 3)

    out_channels: list[int] = []
    classes: list[int] = []
    count: int | None = 0
    c = channels
    for i, (kind, params) in enumerate(layers):
        if kind == "convolutional":
            size = _int(path, i, kind, params, "size", -1)
            filters = _int(path, i, kind, params, "filters", -1)
            groups = _int(path, i, kind, params, "groups", 1)
            bn = _int(path, i, kind, params, "batch_normalize", 0) == 1
            if size <= 0 or filters <= 0 or groups <= 0 or c % groups:
                raise DarknetModelError(
                    f"{path}: [convolutional] layer {i} has size={size} filters={filters} "
                    f"groups={groups} for {c} input channels"
                )
            if count is not None:
                count += filters * (4 if bn else 1) + filters * (c // groups) * size * size
            c = filters
        elif kind == "route":
            refs = _ints(params.get("layers", ""))
            if not refs:
                raise DarknetModelError(f"{path}: [route] layer {i} has no layers=")
            idx = [r if r >= 0 else i + r for r in refs]
            if any(not 0 <= j < i for j in idx):
                raise DarknetModelError(f"{path}: [route] layer {i} refers to layers {refs}")
            c = sum(out_channels[j] for j in idx) // _int(path, i, kind, params, "groups", 1)
        elif kind == "reorg":
            c *= _int(path, i, kind, params, "stride", 2) ** 2
        elif kind not in _PASS_THROUGH:
            count = None  # e.g. [connected]: its size depends on spatial dims; leave to OpenCV
        if kind in ("yolo", "region"):
            n_classes = _int(path, i, kind, params, "classes", -1)
            if n_classes <= 0:
                raise DarknetModelError(f"{path}: [{kind}] layer {i} needs classes= >= 1")
            _check_head(path, i, kind, params, n_classes, layers, c)
            classes.append(n_classes)
        out_channels.append(c)
    if not classes:
        raise DarknetModelError(f"{path} has no [yolo] or [region] layer: not a YOLO detector")
    return DarknetCfg(
        path=path,
        input_wh=(width, height),
        channels=channels,
        letter_box=_int(path, 0, "net", net, "letter_box", 0) == 1,
        classes=tuple(classes),
        weight_count=count,
        sections=sections,
    )


def _check_head(
    path: Path,
    i: int,
    kind: str,
    params: dict[str, str],
    n_classes: int,
    layers: list[tuple[str, dict[str, str]]],
    in_channels: int,
) -> None:
    """The conv before a YOLO head must give (classes + 5) values per anchor."""
    if kind == "yolo":
        n_anchors = len(_ints(params.get("mask", ""))) or _int(path, i, kind, params, "num", 1)
        per_anchor = n_classes + 5
    else:
        n_anchors = _int(path, i, kind, params, "num", 1)
        per_anchor = n_classes + _int(path, i, kind, params, "coords", 4) + 1
    if in_channels != n_anchors * per_anchor:
        raise DarknetModelError(
            f"{path}: [{kind}] layer {i} has classes={n_classes} and {n_anchors} anchors, so the "
            f"layer before it needs filters={n_anchors * per_anchor}, but it gives {in_channels} "
            f"channels (after changing classes=, update filters= too)"
        )


def check_weights_file(cfg: DarknetCfg, weights_path: Path) -> None:
    """Raise `DarknetModelError` unless `weights_path` holds exactly what `cfg` needs.

    The header is major, minor, revision (int32) then `seen`: int64 from version 0.2 on,
    int32 before, as OpenCV and Darknet read it.
    """
    weights_path = Path(weights_path)
    if not weights_path.is_file():
        raise DarknetModelError(f"Darknet weights {weights_path} does not exist")
    size = weights_path.stat().st_size
    if size < 16:
        raise DarknetModelError(f"{weights_path} is {size} bytes: too short for a Darknet header")
    with weights_path.open("rb") as fh:
        major, minor, _revision = np.frombuffer(fh.read(12), dtype="<i4").tolist()
    if major > 1000 or minor > 1000:
        raise DarknetModelError(
            f"{weights_path} has version {major}.{minor}: transposed weights, which OpenCV "
            "cannot read (or not a Darknet weights file)"
        )
    header = 20 if major * 10 + minor >= 2 else 16
    body = size - header
    if cfg.weight_count is None:
        return
    expected = cfg.weight_count
    if body != expected * 4:
        held = f"{body // 4} float32 values" + (f" and {body % 4} stray bytes" if body % 4 else "")
        hint = (
            "the file is cut short (an interrupted copy?) or was trained with a larger cfg"
            if body < expected * 4
            else "it was trained with another cfg (other classes=, filters= or layers)"
        )
        raise DarknetModelError(
            f"{weights_path} does not match {cfg.path}: after its {header}-byte header it holds "
            f"{held}, the cfg needs {expected}; {hint}"
        )


class OpenCvDnnRuntime:
    """Runs a Darknet model through `cv2.dnn` on the CPU; outputs are the `[yolo]` layers.

    Each output is `(rows, 5 + classes)`: cx, cy, w, h normalised to the input, the
    objectness, then class scores that OpenCV has already multiplied by the objectness
    (and zeroed under the layer's `thresh=`). `num_threads` sets OpenCV's thread count,
    which is process-wide: OpenCV DNN has no per-network setting.
    """

    def __init__(self, cfg_path: Path, weights_path: Path, num_threads: int = 2):
        self.cfg = parse_darknet_cfg(cfg_path)
        check_weights_file(self.cfg, weights_path)
        try:
            self._net = cv2.dnn.readNetFromDarknet(str(cfg_path), str(weights_path))
        except cv2.error as exc:
            raise DarknetModelError(
                f"OpenCV cannot load Darknet cfg {cfg_path} with weights {weights_path}: "
                f"{_opencv_reason(exc)}"
            ) from exc
        self._net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        self._net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        cv2.setNumThreads(num_threads)
        self.output_names: list[str] = list(self._net.getUnconnectedOutLayersNames())

    def run(self, tensor: npt.NDArray[np.float32]) -> list[npt.NDArray[np.float32]]:
        """`tensor` is NCHW float32 (N = 1) scaled to [0, 1], any multiple of 32 in size."""
        if (
            tensor.ndim != 4
            or tensor.shape[:2] != (1, self.cfg.channels)
            or tensor.dtype != np.float32
        ):
            raise ValueError(
                f"input must be (1, {self.cfg.channels}, h, w) float32, got {tensor.shape} {tensor.dtype}"
            )
        self._net.setInput(tensor)
        try:
            outputs = self._net.forward(self.output_names)
        except cv2.error as exc:
            raise DarknetModelError(
                f"OpenCV cannot run {self.cfg.path} on a {tensor.shape} input: {_opencv_reason(exc)}"
            ) from exc
        return [np.asarray(o, dtype=np.float32) for o in outputs]


def _opencv_reason(exc: cv2.error) -> str:
    """OpenCV messages carry the C++ source path; keep the part a user can act on."""
    text = str(exc).strip()
    match = re.search(r"error: \([^)]*\)\s*(.*?)(?: in function .*)?$", text, re.DOTALL)
    return (match.group(1) if match else text).strip()
