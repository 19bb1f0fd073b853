"""The read side of the outbox: claim due alerts, send them, record every attempt.

A thread, not asyncio: every client underneath is blocking (SQLAlchemy sessions,
smtplib, paho's publish-and-wait, Apprise's sync API), and the rest of the pipeline is
threads. One loop thread claims; a small pool sends in parallel, so one slow provider
(a 10 s timeout) does not hold up the others.

Guarantees (see docs/notifications.md):

- At least once: an alert leaves `pending` only as delivered, failed (permanent refusal,
  or out of attempts or age) or suppressed. A dispatcher that dies mid-send leaves
  `sending` rows, which go back to `pending` when their lease ends.
- No doubles from concurrency: claiming is an atomic conditional UPDATE (two dispatchers,
  in threads or processes, never hold the same alert).
- The one way to send twice: the process dies after the provider accepted a message and
  before the outcome was committed. The alert id travels with every message
  (Idempotency-Key header, JSON `alert_id`, MQTT payload, mail Message-ID, SMS text) so
  receivers can drop the repeat.
"""

from __future__ import annotations

import logging
import random
import secrets
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Self

from sqlalchemy.orm import Session, sessionmaker

from fallwatch.backoff import Backoff
from fallwatch.config.notify import NotifyConfig
from fallwatch.notify.base import Notifier
from fallwatch.notify.clock import Clock, utc_now
from fallwatch.notify.message import DeliveryResult, build_message
from fallwatch.notify.policy import Escalator
from fallwatch.notify.routing import Router
from fallwatch.store import alerts, delivery
from fallwatch.store.alerts import AlertTarget
from fallwatch.store.delivery import AttemptOutcome, ClaimedAlert
from fallwatch.types import AlertKind

log = logging.getLogger(__name__)


def mask_recipient(recipient: str) -> str:
    """Enough of a phone number or address to tell them apart in logs, not to dial it."""
    if len(recipient) <= 4:
        return recipient
    if "@" in recipient:
        user, _, domain = recipient.partition("@")
        return f"{user[:1]}***@{domain}"
    return f"{recipient[:3]}***{recipient[-2:]}"


@dataclass(frozen=True)
class DispatchStats:
    """What one `run_once` pass did."""

    requeued: int = 0
    escalated: int = 0
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


@dataclass(frozen=True)
class _Finished:
    delivered: bool
    retrying: bool


class Dispatcher:
    """Sends what the outbox holds: `run_once()` for one pass, `start()` for a thread."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        notifiers: Mapping[str, Notifier],  # type: ignore[type-arg]
        config: NotifyConfig,
        *,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
        worker_id: str | None = None,
        only_dispatcher: bool = False,
        on_failed: Callable[[ClaimedAlert, str], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._notifiers = dict(notifiers)
        self._config = config
        self._retry = config.retry
        self._clock = clock
        self._backoff = Backoff(config.retry.base_s, config.retry.max_s, config.retry.jitter, rng)
        self._router = Router(config)
        self._escalator = Escalator(config.policy, self._router)
        self._on_failed = on_failed
        self.worker_id = worker_id or f"dispatcher-{secrets.token_hex(4)}"
        # Leases released at start: this id's (a stable id survives a restart), or every
        # one when no other dispatcher can share the database (SQLite, one server).
        self._only_dispatcher = only_dispatcher
        self._pool = ThreadPoolExecutor(
            max_workers=config.retry.workers, thread_name_prefix="fallwatch-send"
        )
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- one pass --------------------------------------------------------------------

    def run_once(self, *, wait: bool = True) -> DispatchStats:
        """Requeue dead claims, queue escalations, then claim and send what is due.

        With `wait` (tests, tools) the pass returns when every send is done and the
        stats count outcomes. The background loop passes `wait=False`: it claims only
        as many alerts as there are idle senders and goes on, so a provider hanging
        until its timeout never delays a new alert on another channel.
        """
        now = self._clock()
        with self._sessions.begin() as session:
            requeued = delivery.requeue_expired(session, now=now)
        if requeued:
            log.warning(
                "%d alerts left 'sending' by a stopped dispatcher: sending again",
                requeued,
            )
        with self._sessions.begin() as session:
            escalated = self._escalator.escalate(session, now)
        if escalated:
            log.warning("%d escalation alerts queued (events not acknowledged)", escalated)
        with self._in_flight_lock:
            idle = self._retry.workers - self._in_flight
        limit = self._retry.batch if wait else min(self._retry.batch, idle)
        claims: list[ClaimedAlert] = []
        if limit > 0:
            with self._sessions.begin() as session:
                claims = delivery.claim_due_alerts(
                    session,
                    now=now,
                    limit=limit,
                    lease_s=self._retry.lease_s,
                    claimed_by=self.worker_id,
                )
        with self._in_flight_lock:
            self._in_flight += len(claims)
        futures = [self._pool.submit(self._deliver_counted, c) for c in claims]
        if not wait:
            return DispatchStats(requeued=requeued, escalated=escalated, claimed=len(claims))
        results = [f.result() for f in futures]
        return DispatchStats(
            requeued=requeued,
            escalated=escalated,
            claimed=len(claims),
            delivered=sum(r.delivered for r in results),
            retrying=sum(r.retrying for r in results),
            failed=sum(not r.delivered and not r.retrying for r in results),
        )

    def _deliver_counted(self, claim: ClaimedAlert) -> _Finished:
        try:
            return self._deliver(claim)
        finally:
            with self._in_flight_lock:
                self._in_flight -= 1
            self._wake.set()  # a sender is free: look for more

    def _deliver(self, claim: ClaimedAlert) -> _Finished:
        notifier = self._notifiers.get(claim.channel)
        if notifier is None:
            result = DeliveryResult(
                ok=False,
                permanent=True,
                error=f"channel {claim.channel!r} is not configured",
            )
        else:
            message = build_message(
                claim,
                dashboard_url=str(self._config.dashboard_url)
                if self._config.dashboard_url
                else None,
                timezone=self._config.timezone,
                locale=self._config.locale,
                templates=self._config.templates.get(self._config.locale),
            )
            try:
                result = notifier.send(message)
            except Exception as exc:
                result = DeliveryResult(
                    ok=False, error=notifier.redact(f"{type(exc).__name__}: {exc}")
                )
        now = self._clock()
        retry_at = None
        give_up = None
        if not result.ok:
            age_s = (now - claim.created_at).total_seconds()
            if result.permanent:
                give_up = "permanently rejected"
            elif claim.attempt >= self._retry.max_attempts:
                give_up = f"gave up after {claim.attempt} attempts"
            elif age_s >= self._retry.max_age_s:
                give_up = f"gave up after {age_s:.0f} s"
            else:
                retry_at = now + timedelta(seconds=self._backoff.delay_s(claim.attempt))
        outcome = AttemptOutcome(
            ok=result.ok,
            http_status=result.http_status,
            provider_answer=result.answer,
            provider_message_id=result.provider_message_id,
            error=result.error,
        )
        with self._sessions.begin() as session:
            kept = delivery.finish_attempt(
                session,
                claim,
                outcome,
                now=now,
                retry_at=retry_at,
                give_up_reason=give_up,
            )
            fallbacks = 0
            if kept and give_up is not None:
                fallbacks = self._queue_fallback(session, claim, give_up, now)
        who = f"alert {claim.alert_id} ({claim.kind}, event {claim.event.id}, camera {claim.event.camera_id}) via {claim.channel} to {mask_recipient(claim.recipient) or 'its destination'}"
        if not kept:
            log.warning("%s: lease lost before the outcome was recorded (ok=%s)", who, result.ok)
        elif result.ok:
            log.info("%s delivered (attempt %d)", who, claim.attempt)
        elif retry_at is not None:
            log.warning(
                "%s failed (attempt %d): %s; retrying in %.1f s",
                who,
                claim.attempt,
                result.error,
                (retry_at - now).total_seconds(),
            )
        else:
            log.error("%s failed for good: %s: %s", who, give_up, result.error)
            if fallbacks:
                log.warning("%s: %d fallback alert(s) queued", who, fallbacks)
                self._wake.set()
            if self._on_failed is not None and give_up is not None:
                self._on_failed(claim, give_up)
        return _Finished(delivered=result.ok and kept, retrying=retry_at is not None)

    def _queue_fallback(
        self, session: Session, claim: ClaimedAlert, give_up: str, now: datetime
    ) -> int:
        """One alert per fallback target of the camera's routes, once per event."""
        if claim.kind not in (AlertKind.ALERT, AlertKind.ESCALATION):
            return 0
        failed = AlertTarget(claim.channel, claim.recipient)
        targets = [t for t in self._router.fallback_targets(claim.event.camera_id) if t != failed]
        if not targets:
            return 0
        to = mask_recipient(claim.recipient) or "its destination"
        detail = f"the {claim.kind} via {claim.channel} to {to} was not delivered ({give_up})"
        return len(
            alerts.add_alerts(
                session, claim.event.id, AlertKind.FALLBACK, targets, now=now, detail=detail
            )
        )

    # --- background thread -----------------------------------------------------------

    def wake(self) -> None:
        """Look for due alerts now rather than at the next poll (called after recording)."""
        self._wake.set()

    def release_own_leases(self) -> int:
        """Send again at once what this dispatcher's previous run left mid-send (a crash)."""
        claimed_by = None if self._only_dispatcher else self.worker_id
        with self._sessions.begin() as session:
            released = delivery.release_leases(session, now=self._clock(), claimed_by=claimed_by)
        if released:
            log.warning(
                "%d alerts left 'sending' when this server last stopped: sending again now",
                released,
            )
        return released

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("dispatcher already started")
        self.release_own_leases()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="fallwatch-dispatcher", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                stats = self.run_once(wait=False)
            except Exception:
                # The database is unreachable or locked for long: nothing is lost (the
                # outbox is the database), so log and try again after the poll interval.
                log.exception("dispatcher pass failed; retrying in %.1f s", self._retry.poll_s)
                stats = DispatchStats()
            if stats.claimed and stats.claimed >= self._retry.batch:
                continue  # more may be due: no sleep
            # Woken early by record() (new alerts) or by a sender finishing.
            self._wake.wait(self._retry.poll_s)

    def stop(self, timeout_s: float = 30.0) -> None:
        """Finish the current pass, then stop the thread and the send pool."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        self._pool.shutdown(wait=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
