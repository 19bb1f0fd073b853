"""LiteRT (TensorFlow Lite) runtime."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)


@contextmanager
def native_info_to_debug() -> Iterator[None]:
    """Catches what native code writes to fd 2 meanwhile: its `INFO: ` lines are logged at
    debug level, anything else is passed on to stderr.

    LiteRT's C++ logger prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
    on every model load, straight to the file descriptor, with no setting or environment
    variable that turns it down; on every `analyze` and in every camera worker's log it is
    noise, and `-v` still shows it.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        # No usable stderr (closed, or not a real file): nothing to keep quiet.
        yield
        return
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            text = caught.read().decode(errors="replace")
    for line in text.splitlines():
        if line.startswith("INFO: "):
            log.debug("LiteRT: %s", line.removeprefix("INFO: "))
        elif line.strip():
            print(line, file=sys.stderr)


class LiteRTRuntime:
    """Runs a `.tflite` model with a fixed input shape on `num_threads` CPU threads."""

    def __init__(self, model_path: Path, input_shape: tuple[int, ...], num_threads: int = 2):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:  # pragma: no cover - the dependency is required
            raise RuntimeError("LiteRT is not installed: pip install ai-edge-litert") from exc
        with native_info_to_debug():
            self._interp = Interpreter(model_path=str(model_path), num_threads=num_threads)
            inp = self._interp.get_input_details()[0]
            self._input_index = inp["index"]
            self.input_dtype = np.dtype(inp["dtype"])
            # MoveNet MultiPose takes a dynamic [1, H, W, 3]: fixed once, XNNPack plans once.
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
