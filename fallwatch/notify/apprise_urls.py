"""Apprise URLs: Telegram, Slack, Discord, ntfy, ... without a client of our own.

Apprise answers only True or False; the reason for a failure is in its log, which is
captured while sending (with secrets redacted) and kept as the provider's answer. An HTTP
status in that log ("error=400.") makes a permanent failure as for our own HTTP channels.
"""

from __future__ import annotations

import logging
import re
import threading
import urllib.parse

import apprise

from fallwatch.config.channels import AppriseChannel
from fallwatch.notify.base import Notifier, retryable_status
from fallwatch.notify.message import DeliveryResult, Message
from fallwatch.types import AlertKind

_HTTP_ERROR = re.compile(r"error=(\d{3})\b")
_NOTIFY_TYPE = {
    AlertKind.ALERT: apprise.NotifyType.FAILURE,
    AlertKind.ESCALATION: apprise.NotifyType.FAILURE,
    AlertKind.FALLBACK: apprise.NotifyType.FAILURE,
    AlertKind.RESOLVED: apprise.NotifyType.SUCCESS,
    AlertKind.SUMMARY: apprise.NotifyType.WARNING,
    AlertKind.TEST: apprise.NotifyType.INFO,
}


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.lines.append(record.getMessage())


def with_timeouts(url: str, timeout_s: float) -> str:
    """Add Apprise's connect (cto) and read (rto) timeouts unless the URL sets them."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    extra = {k: f"{timeout_s:g}" for k in ("cto", "rto") if k not in query}
    if not extra:
        return url
    joined = "&".join(p for p in (parts.query, urllib.parse.urlencode(extra)) if p)
    return urllib.parse.urlunsplit(parts._replace(query=joined))


class AppriseNotifier(Notifier[AppriseChannel]):
    def __init__(self, config: AppriseChannel) -> None:
        super().__init__(config)
        self._url = with_timeouts(config.url.get_secret_value(), config.timeout_s)
        # Apprise's logger is process-wide: one send at a time per channel keeps the
        # captured lines this send's own.
        self._lock = threading.Lock()

    def check(self) -> None:
        if apprise.Apprise.instantiate(self._url) is None:
            scheme = self._url.split("://", 1)[0] if "://" in self._url else "(none)"
            raise ValueError(
                f"channel {self.name!r}: url: Apprise does not support this URL "
                f"(scheme {scheme!r}); see the Apprise wiki for the supported forms"
            )

    def send(self, message: Message) -> DeliveryResult:
        client = apprise.Apprise()
        if not client.add(self._url):
            return DeliveryResult(ok=False, permanent=True, error="Apprise rejected the URL")
        attach = None
        if message.snapshot_path is not None and message.snapshot_path.is_file():
            attach = apprise.AppriseAttachment()
            attach.add(str(message.snapshot_path))
        capture = _Capture()
        logger = logging.getLogger("apprise")
        with self._lock:
            logger.addHandler(capture)
            try:
                ok = client.notify(
                    body=message.text(),
                    title=message.title(),
                    notify_type=_NOTIFY_TYPE[message.kind],
                    attach=attach,
                )
            except Exception as exc:
                ok = False
                capture.lines.append(f"{type(exc).__name__}: {exc}")
            finally:
                logger.removeHandler(capture)
        answer = self.redact(" | ".join(capture.lines))[:1000] or None
        if ok:
            return DeliveryResult(ok=True, answer=answer)
        statuses = [int(s) for s in _HTTP_ERROR.findall(" ".join(capture.lines))]
        status = statuses[-1] if statuses else None
        permanent = status is not None and 300 <= status < 500 and not retryable_status(status)
        return DeliveryResult(
            ok=False,
            permanent=permanent,
            http_status=status,
            answer=answer,
            error=answer or "Apprise reported a failure",
        )
