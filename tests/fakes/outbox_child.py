"""A Fallwatch process that the fault tests kill with SIGKILL at a chosen moment.

    python -m tests.fakes.outbox_child DB_URL WEBHOOK_URL MODE N   (from the repository root)

Records N events (one webhook alert each) through the real Outbox, then:

- `stored`: prints STORED and hangs before any dispatcher runs;
- `claimed`: runs the real Dispatcher with a notifier that prints CLAIMED and hangs in
  `send` (the alerts are `sending`, nothing reached the provider);
- `sent`: runs the real Dispatcher with the real webhook notifier, prints SENT after the
  provider accepted each message, then hangs before the outcome is recorded.

The parent kills it at the marker, starts a dispatcher of its own and counts deliveries.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from fallwatch.notify import Dispatcher, Outbox, build_notifiers
from fallwatch.notify.base import Notifier
from fallwatch.notify.message import DeliveryResult, Message
from fallwatch.store.db import make_engine, session_factory
from tests.fakes.notify import make_event, webhook_config

HANG_S = 600


class HangingNotifier(Notifier):  # type: ignore[type-arg]
    """Wraps a notifier; after `send_first` or instead of sending, prints the marker and hangs."""

    def __init__(self, inner: Notifier, marker: str, send_first: bool, expected: int) -> None:  # type: ignore[type-arg]
        super().__init__(inner.config)
        self._inner = inner
        self._marker = marker
        self._send_first = send_first
        self._expected = expected
        self._count = 0
        self._lock = threading.Lock()

    def send(self, message: Message) -> DeliveryResult:
        if self._send_first:
            result = self._inner.send(message)
            assert result.ok, result
        with self._lock:
            self._count += 1
            if self._count == self._expected:
                print(self._marker, flush=True)
        time.sleep(HANG_S)
        raise AssertionError("should have been killed")


def main(db_url: str, webhook_url: str, mode: str, n: int) -> None:
    config = webhook_config(webhook_url, retry={"workers": n, "lease_s": 30})
    sessions = session_factory(make_engine(db_url))
    outbox = Outbox(sessions, config)
    for track in range(n):
        outbox.record(make_event(track_id=track))
    if mode == "stored":
        print("STORED", flush=True)
        time.sleep(HANG_S)
        return
    notifiers: dict[str, Any] = build_notifiers(config)
    marker = {"claimed": "CLAIMED", "sent": "SENT"}[mode]
    hanging = {"hook": HangingNotifier(notifiers["hook"], marker, mode == "sent", n)}
    Dispatcher(sessions, hanging, config).run_once()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
