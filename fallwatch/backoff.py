"""Retry delays: exponential, capped, optionally with jitter (lowest layer, no config).

One rule for every retry in the product: the delay after the n-th failure in a row is
`base_s * 2**(n-1)`, capped at `max_s`. Notifications retry with `RetryConfig`'s values
and jitter; a lost camera stream reconnects from `ReconnectConfig.initial_s`; a crashed
worker restarts after 1 s, 2 s, 4 s ... up to `WorkersConfig.restart_backoff_max_s`.
"""

from __future__ import annotations

import random

MAX_DOUBLINGS = 60
"""The exponent stops growing here, so a long outage cannot overflow the float."""


class Backoff:
    """`delay_s(n)` after the n-th failed attempt in a row: base_s * 2**(n-1), capped at max_s.

    A `jitter` share of each delay is random, so alerts that failed together during an
    outage do not all retry at the same instant when the provider comes back.
    """

    def __init__(
        self, base_s: float, max_s: float, jitter: float = 0.0, rng: random.Random | None = None
    ) -> None:
        if base_s <= 0 or max_s <= 0:
            raise ValueError(f"base_s and max_s must be > 0, got {base_s} and {max_s}")
        if not 0.0 <= jitter <= 1.0:
            raise ValueError(f"jitter must be in [0, 1], got {jitter}")
        self.base_s = base_s
        self.max_s = max_s
        self.jitter = jitter
        self._rng = rng or random.Random()

    def delay_s(self, attempt: int) -> float:
        if attempt < 1:
            raise ValueError(f"attempt must be >= 1, got {attempt}")
        full = min(self.max_s, self.base_s * 2.0 ** min(attempt - 1, MAX_DOUBLINGS))
        # Drawn even without jitter (the sum is then exactly `full`), so a seeded rng
        # shared with other code sees the same sequence whatever the jitter.
        return full * (1.0 - self.jitter) + full * self.jitter * self._rng.random()
