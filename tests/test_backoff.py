"""The one backoff rule, with each caller's numbers as they were before it was shared."""

from __future__ import annotations

import random

import pytest

from fallwatch.backoff import Backoff
from fallwatch.config.notify import RetryConfig
from fallwatch.config.server import ReconnectConfig, WorkersConfig


def test_notify_retries_grow_exponentially_within_jitter_and_cap() -> None:
    retry = RetryConfig(base_s=2, max_s=60, jitter=0.5)
    backoff = Backoff(retry.base_s, retry.max_s, retry.jitter, random.Random(1))
    for attempt, full in [(1, 2), (2, 4), (3, 8), (5, 32), (6, 60), (30, 60)]:
        delays = [backoff.delay_s(attempt) for _ in range(50)]
        assert all(full * 0.5 <= d <= full for d in delays), (
            attempt,
            min(delays),
            max(delays),
        )
        assert max(delays) - min(delays) > full * 0.2  # jitter really spreads them


def test_notify_delay_is_the_old_formula_draw_for_draw() -> None:
    retry = RetryConfig()
    ours, theirs = random.Random(3), random.Random(3)
    backoff = Backoff(retry.base_s, retry.max_s, retry.jitter, ours)
    for attempt in range(1, 80):
        full = min(retry.max_s, retry.base_s * 2.0 ** min(attempt - 1, 60))
        old = full * (1.0 - retry.jitter) + full * retry.jitter * theirs.random()
        assert backoff.delay_s(attempt) == old


def test_stream_reconnect_delays_double_from_initial_to_max() -> None:
    """The capture thread used to double a running delay after each failure."""
    cfg = ReconnectConfig()
    backoff = Backoff(cfg.initial_s, cfg.max_s)
    old, delays = cfg.initial_s, []
    for attempt in range(1, 12):
        delays.append(backoff.delay_s(attempt))
        assert delays[-1] == old
        old = min(old * 2, cfg.max_s)
    assert delays[:8] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_worker_restart_delays_are_1_2_4_seconds_up_to_the_max() -> None:
    cfg = WorkersConfig()
    backoff = Backoff(base_s=1.0, max_s=cfg.restart_backoff_max_s)
    for streak in range(1, 70):
        assert backoff.delay_s(streak) == min(2.0 ** (streak - 1), cfg.restart_backoff_max_s)
    assert [backoff.delay_s(n) for n in (1, 2, 3, 6, 7, 8)] == [1.0, 2.0, 4.0, 32.0, 60.0, 60.0]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="attempt must be >= 1"):
        Backoff(1.0, 2.0).delay_s(0)
    with pytest.raises(ValueError, match="jitter"):
        Backoff(1.0, 2.0, jitter=1.5)
    with pytest.raises(ValueError, match="base_s and max_s"):
        Backoff(0.0, 2.0)
