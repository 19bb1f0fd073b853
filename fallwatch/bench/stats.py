"""Per-stage timing summaries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StageStats:
    """Milliseconds one stage took per frame, over the measured frames."""

    mean_ms: float
    p50_ms: float
    p95_ms: float
    frames: int

    @classmethod
    def of(cls, samples_ms: Sequence[float]) -> StageStats:
        if not samples_ms:
            raise ValueError("samples_ms must hold at least one sample, got none")
        arr = np.asarray(samples_ms, np.float64)
        return cls(
            mean_ms=float(arr.mean()),
            p50_ms=float(np.percentile(arr, 50)),
            p95_ms=float(np.percentile(arr, 95)),
            frames=len(arr),
        )

    def as_dict(self) -> dict[str, float | int]:
        return {
            "mean_ms": round(self.mean_ms, 4),
            "p50_ms": round(self.p50_ms, 4),
            "p95_ms": round(self.p95_ms, 4),
            "frames": self.frames,
        }
