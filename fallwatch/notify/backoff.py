"""Retry delays: exponential with jitter."""

from __future__ import annotations

import random

from fallwatch.config.notify import RetryConfig


class Backoff:
    """`delay_s(n)` after the n-th failed attempt: base_s * 2**(n-1), capped at max_s.

    A `jitter` share of each delay is random, so alerts that failed together during an
    outage do not all retry at the same instant when the provider comes back.
    """

    def __init__(self, config: RetryConfig, rng: random.Random | None = None) -> None:
        self._config = config
        self._rng = rng or random.Random()

    def delay_s(self, attempt: int) -> float:
        if attempt < 1:
            raise ValueError(f"attempt must be >= 1, got {attempt}")
        cfg = self._config
        full = min(cfg.max_s, cfg.base_s * 2.0 ** min(attempt - 1, 60))
        return full * (1.0 - cfg.jitter) + full * cfg.jitter * self._rng.random()
