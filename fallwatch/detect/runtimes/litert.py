"""LiteRT (TensorFlow Lite) runtime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt


class LiteRTRuntime:
    """Runs a `.tflite` model with a fixed input shape on `num_threads` CPU threads."""

    def __init__(self, model_path: Path, input_shape: tuple[int, ...], num_threads: int = 2):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:  # pragma: no cover - the dependency is required
            raise RuntimeError("LiteRT is not installed: pip install ai-edge-litert") from exc
        self._interp = Interpreter(model_path=str(model_path), num_threads=num_threads)
        inp = self._interp.get_input_details()[0]
        self._input_index = inp["index"]
        self.input_dtype = np.dtype(inp["dtype"])
        # MoveNet MultiPose takes a dynamic [1, H, W, 3]; fix it once so XNNPack plans once.
        self._interp.resize_tensor_input(self._input_index, list(input_shape), strict=False)
        self._interp.allocate_tensors()
        self._output_indices = [o["index"] for o in self._interp.get_output_details()]
        self.input_shape = input_shape

    def run(self, tensor: npt.NDArray[np.generic]) -> list[npt.NDArray[np.generic]]:
        if tensor.shape != self.input_shape or tensor.dtype != self.input_dtype:
            raise ValueError(
                f"input must be {self.input_shape} {self.input_dtype}, "
                f"got {tensor.shape} {tensor.dtype}"
            )
        self._interp.set_tensor(self._input_index, tensor)
        self._interp.invoke()
        return [self._interp.get_tensor(i) for i in self._output_indices]
