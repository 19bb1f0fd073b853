"""Fixtures for detector tests: tiny Darknet and ONNX YOLO models built on the fly.

Builders are offered as factory fixtures, not imported: `import conftest` is ambiguous
with more than one conftest.py outside packages. Real data: `falls_dir` in tests/conftest.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

# --- Darknet ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DarknetFiles:
    cfg: Path
    weights: Path
    names: Path
    weight_count: int


def _darknet_cfg_text(
    classes: int = 2,
    input_wh: tuple[int, int] = (64, 64),
    anchors: str = "10,14, 23,27, 37,58",
    mask: str = "0,1,2",
    head_filters: int | None = None,
    letter_box: bool = False,
) -> str:
    """A YOLOv3-style cfg: two BN convs (stride 2) with a maxpool between, a 1x1 head conv,
    one [yolo] layer on an 8x8 grid for a 64x64 input. `thresh=0` so OpenCV zeroes no score."""
    n_mask = len(mask.split(","))
    n_anchors = len(anchors.split(",")) // 2
    filters = head_filters if head_filters is not None else n_mask * (classes + 5)
    return f"""[net]
width={input_wh[0]}
height={input_wh[1]}
channels=3
{"letter_box=1" if letter_box else ""}

[convolutional]
batch_normalize=1
filters=8
size=3
stride=2
pad=1
activation=leaky

[maxpool]
size=2
stride=2

[convolutional]
batch_normalize=1
filters=16
size=3
stride=2
pad=1
activation=leaky

[convolutional]
size=1
stride=1
pad=1
filters={filters}
activation=linear

[yolo]
mask={mask}
anchors={anchors}
classes={classes}
num={n_anchors}
thresh=0
"""


def _darknet_weights(
    classes: int = 2,
    n_mask: int = 3,
    head_bias: np.ndarray | None = None,
    seed: int = 0,
) -> np.ndarray:
    """float32 weights for `darknet_cfg_text`, in the order OpenCV reads them: per conv,
    biases, then (with batch_normalize) scales, rolling mean, rolling variance, then the
    kernel. With `head_bias`, the head conv's kernel is zero so every cell outputs the bias."""
    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = []
    c = 3
    head = n_mask * (classes + 5)
    for filters, k, bn in ((8, 3, True), (16, 3, True), (head, 1, False)):
        is_head = filters == head and not bn
        if is_head and head_bias is not None:
            parts.append(np.asarray(head_bias, np.float32))
        else:
            parts.append(rng.normal(0, 0.1, filters))
        if bn:
            # Variance must be positive: OpenCV folds 1/sqrt(var) into the conv.
            parts += [
                rng.uniform(0.5, 1.5, filters),
                rng.normal(0, 0.1, filters),
                rng.uniform(0.5, 1.5, filters),
            ]
        if is_head and head_bias is not None:
            parts.append(np.zeros(filters * c * k * k))
        else:
            parts.append(rng.normal(0, 0.3, filters * c * k * k))
        c = filters
    return np.concatenate(parts).astype(np.float32)


def _write_weights(
    path: Path, values: np.ndarray, version: tuple[int, int, int] = (0, 2, 0)
) -> Path:
    """Darknet header: major, minor, revision int32, then `seen` int64 from 0.2, int32 before."""
    with path.open("wb") as fh:
        np.asarray(version, "<i4").tofile(fh)
        np.asarray([0], "<i8" if version[0] * 10 + version[1] >= 2 else "<i4").tofile(fh)
        np.asarray(values, "<f4").tofile(fh)
    return path


@pytest.fixture
def tiny_darknet(tmp_path: Path):
    """Factory: writes cfg + weights + names for a tiny net and returns `DarknetFiles`."""

    def build(
        classes: int = 2,
        names: tuple[str, ...] = ("Normal", "Fall"),
        head_bias: np.ndarray | None = None,
        mask: str = "0,1,2",
        anchors: str = "10,14, 23,27, 37,58",
        letter_box: bool = False,
        version: tuple[int, int, int] = (0, 2, 0),
        head_filters: int | None = None,
        drop_floats: int = 0,
        tag: str = "tiny",
    ) -> DarknetFiles:
        """`head_filters` writes a cfg whose head does not fit `classes`; `drop_floats`
        cuts that many values off the end of the weights, as an interrupted copy would."""
        cfg = tmp_path / f"{tag}.cfg"
        cfg.write_text(
            _darknet_cfg_text(
                classes,
                anchors=anchors,
                mask=mask,
                head_filters=head_filters,
                letter_box=letter_box,
            )
        )
        values = _darknet_weights(classes, len(mask.split(",")), head_bias)
        weights = _write_weights(
            tmp_path / f"{tag}.weights", values[: len(values) - drop_floats], version
        )
        names_path = tmp_path / f"{tag}.names"
        names_path.write_text("\n".join(names) + "\n")
        return DarknetFiles(cfg, weights, names_path, len(values))

    return build


# --- ONNX ------------------------------------------------------------------------------


def _write_constant_onnx(
    path: Path,
    output: np.ndarray,
    names: str | None = "{0: 'Normal', 1: 'Fall', 2: 'dog'}",
    input_shape: tuple[int | str, ...] = (1, 3, 64, 64),
    metadata: dict[str, str] | None = None,
) -> Path:
    """A model that ignores its image and always outputs `output`: enough to test the
    runtime, layout detection and decoding without any weights."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    const = helper.make_node(
        "Constant", [], ["output0"], value=numpy_helper.from_array(output.astype(np.float32))
    )
    graph = helper.make_graph(
        [const],
        "constant_yolo",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(output.shape))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8  # readable by any onnxruntime this project supports
    props = dict(metadata or {})
    if names is not None:
        props["names"] = names
    helper.set_model_props(model, props)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


@pytest.fixture
def constant_onnx(tmp_path: Path):
    """Factory: `constant_onnx(output, names=..., input_shape=..., metadata=..., name=...)`
    writes a constant-output YOLO model into tmp_path and returns its path."""

    def build(output: np.ndarray, name: str = "model.onnx", **kw) -> Path:
        return _write_constant_onnx(tmp_path / name, output, **kw)

    return build
