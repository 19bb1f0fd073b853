"""Alerts that always arrive: notifier plugins, a durable outbox and its dispatcher.

- `Outbox.record(event)` stores an event and one alert row per (channel, recipient) in
  one transaction, applying the policies (cooldowns, hourly cap, resolved follow-ups).
- `Dispatcher` claims due alerts, sends them through the notifiers built from config by
  `build_notifiers`, records every attempt and retries with backoff; it also escalates
  events nobody acknowledged.
- Notifiers: `sens` (Naver Cloud SMS), `twilio`, `webhook`, `email`, `mqtt` (with Home
  Assistant discovery), `apprise`.
"""

from fallwatch.notify.base import Notifier
from fallwatch.notify.dispatcher import Dispatcher, DispatchStats
from fallwatch.notify.message import DeliveryResult, Message
from fallwatch.notify.outbox import Outbox
from fallwatch.notify.registry import build_notifier, build_notifiers
from fallwatch.notify.routing import Router

__all__ = [
    "DeliveryResult",
    "DispatchStats",
    "Dispatcher",
    "Message",
    "Notifier",
    "Outbox",
    "Router",
    "build_notifier",
    "build_notifiers",
]
