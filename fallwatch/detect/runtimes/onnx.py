"""ONNX Runtime: tensors in, tensors out, on the CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

# ONNX tensor element types a vision model takes as input, to numpy dtypes.
_ORT_DTYPES: dict[str, np.dtype[Any]] = {
    "tensor(float)": np.dtype(np.float32),
    "tensor(float16)": np.dtype(np.float16),
}


class OnnxModelError(ValueError):
    """An ONNX file is missing, unreadable or not shaped as the caller needs."""


class OnnxRuntime:
    """Runs a single-input `.onnx` model on `num_threads` intra-op CPU threads.

    `input_shape` is the declared input shape with `None` for dynamic dimensions;
    `output_shapes` likewise per output. `metadata` is the model's custom metadata map
    (Ultralytics writes `names`, `imgsz`, `stride`, `args` there).
    """

    def __init__(self, model_path: Path, num_threads: int = 2):
        try:
            import onnxruntime as ort
        except ImportError:
            # An optional extra: say which one instead of a bare ModuleNotFoundError.
            raise OnnxModelError(
                "ONNX models need ONNX Runtime: pip install 'fallwatch[yolo]'"
            ) from None

        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise OnnxModelError(f"ONNX model {self.model_path} does not exist")
        options = ort.SessionOptions()
        options.intra_op_num_threads = num_threads
        # Inter-op threads only help graphs with parallel branches; a camera worker per
        # process already keeps the cores busy, so one is enough.
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # Idle intra-op threads spin by default, burning the cores that other cameras'
        # models share with this one; sleeping costs a little latency, not throughput.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(
                str(self.model_path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # ORT raises its own untyped Fail/InvalidGraph errors
            first_line = (
                str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            )
            raise OnnxModelError(
                f"ONNX Runtime cannot load {self.model_path}: {first_line}"
            ) from exc
        inputs = self._session.get_inputs()
        if len(inputs) != 1:
            raise OnnxModelError(
                f"{self.model_path} has {len(inputs)} inputs "
                f"({', '.join(i.name for i in inputs)}); expected one image input"
            )
        self.input_name: str = inputs[0].name
        if inputs[0].type not in _ORT_DTYPES:
            raise OnnxModelError(
                f"{self.model_path} input {self.input_name!r} is {inputs[0].type}; "
                f"expected one of {', '.join(_ORT_DTYPES)}"
            )
        self.input_dtype = _ORT_DTYPES[inputs[0].type]
        self.input_shape = _static_dims(inputs[0].shape)
        self.output_names: list[str] = [o.name for o in self._session.get_outputs()]
        self.output_shapes = [_static_dims(o.shape) for o in self._session.get_outputs()]
        self.metadata: dict[str, str] = dict(
            self._session.get_modelmeta().custom_metadata_map or {}
        )

    def run(self, tensor: npt.NDArray[np.generic]) -> list[npt.NDArray[np.generic]]:
        """Run one input tensor; returns the outputs in the model's order."""
        if tensor.dtype != self.input_dtype:
            raise ValueError(f"input must be {self.input_dtype}, got {tensor.dtype}")
        expected = self.input_shape
        if len(tensor.shape) != len(expected) or any(
            e is not None and e != t for e, t in zip(expected, tensor.shape, strict=False)
        ):
            raise ValueError(f"input must be {expected} (None: any), got {tensor.shape}")
        outputs = self._session.run(None, {self.input_name: tensor})
        return [np.asarray(o) for o in outputs]


def _static_dims(shape: list[int | str | None]) -> tuple[int | None, ...]:
    """ORT reports dynamic dimensions as names or None; keep only the fixed ones."""
    return tuple(d if isinstance(d, int) and d > 0 else None for d in shape)
