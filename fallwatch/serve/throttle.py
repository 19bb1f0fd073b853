"""Login throttling and the bound on concurrent password checks.

`LoginThrottle` counts failed logins per user name and per client address. After
`max_failures_*` failures within `window_s`, that key is locked for `lockout_s`; each
further failure while the count is still over the limit doubles the lock, up to
`lockout_max_s`. A locked key is refused before any password is checked, so guessing
costs the server nothing. A success clears its user name (not its address: owning one
account must not reset the count of an address guessing others). Unknown user names
count like known ones, so locks do not tell which names exist. State is in memory (one
server process) and bounded: the oldest keys go first.

`HashGate` lets `concurrency` argon2 checks (64 MiB each) run at once; a few more callers
wait up to `wait_s` for a slot, the rest are turned away at once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from fallwatch.config.server import LoginConfig

MAX_KEYS = 50_000
"""Keys kept at most (user names and addresses with recent failures)."""


class Busy(Exception):
    """Every password-check slot is taken: try again shortly."""


@dataclass
class _Failures:
    times: deque[float] = field(default_factory=deque)
    locks: int = 0
    locked_until: float = 0.0


class LoginThrottle:
    def __init__(self, config: LoginConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self._lock = threading.Lock()
        self._keys: OrderedDict[tuple[str, str], _Failures] = OrderedDict()

    def _limit(self, key: tuple[str, str]) -> int:
        c = self.config
        return c.max_failures_per_user if key[0] == "user" else c.max_failures_per_address

    @staticmethod
    def _keys_of(username: str, address: str) -> list[tuple[str, str]]:
        return [("user", username.strip().lower()), ("addr", address)]

    def retry_after(self, username: str, address: str) -> float:
        """Seconds until a login for `username` from `address` may be tried; 0: now."""
        now = self.clock()
        with self._lock:
            waits = [
                f.locked_until - now
                for key in self._keys_of(username, address)
                if (f := self._keys.get(key)) is not None
            ]
        return max([0.0, *waits])

    def failed(self, username: str, address: str) -> None:
        now = self.clock()
        c = self.config
        with self._lock:
            for key in self._keys_of(username, address):
                f = self._keys.pop(key, None) or _Failures()
                self._keys[key] = f  # most recent last
                while f.times and f.times[0] <= now - c.window_s:
                    f.times.popleft()
                if not f.times and f.locked_until <= now:
                    f.locks = 0
                f.times.append(now)
                if len(f.times) >= self._limit(key):
                    lock_s = min(c.lockout_s * 2.0**f.locks, c.lockout_max_s)
                    f.locks += 1
                    f.locked_until = max(f.locked_until, now + lock_s)
            while len(self._keys) > MAX_KEYS:
                self._keys.popitem(last=False)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._keys.pop(("user", username.strip().lower()), None)


class HashGate:
    def __init__(self, concurrency: int, wait_s: float) -> None:
        self.wait_s = wait_s
        self.max_waiting = 4 * concurrency
        self._slots = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self._waiting = 0
        self._running = 0
        self.peak = 0
        """The most checks seen running at once (for tests and figures)."""

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a password-check slot; `Busy` when none frees up in time."""
        with self._lock:
            if self._waiting >= self.max_waiting:
                raise Busy()
            self._waiting += 1
        try:
            acquired = self._slots.acquire(timeout=self.wait_s)
        finally:
            with self._lock:
                self._waiting -= 1
        if not acquired:
            raise Busy()
        try:
            with self._lock:
                self._running += 1
                self.peak = max(self.peak, self._running)
            yield
        finally:
            with self._lock:
                self._running -= 1
            self._slots.release()
