"""The notifier interface, secret redaction and the HTTP plumbing the HTTP channels share."""

from __future__ import annotations

import base64
import logging
import urllib.parse
from abc import ABC, abstractmethod
from typing import Any, Generic, TypeVar

import httpx

from fallwatch.config.channels import ChannelBase
from fallwatch.notify.message import DeliveryResult, Message

ANSWER_MAX = 1000
"""Characters of a provider's answer kept in a result."""

C = TypeVar("C", bound=ChannelBase)


def retryable_status(status: int) -> bool:
    """Timeouts, rate limits and server errors pass; other 4xx are the request's fault."""
    return status in (408, 425, 429) or status >= 500


class Notifier(ABC, Generic[C]):
    """Sends one message over one configured channel. `send` never raises.

    Implementations are called from several dispatcher threads at once and must be
    thread-safe. Every error text they return goes through `redact` first.
    """

    def __init__(self, config: C) -> None:
        self.config = config
        secrets = [s for s in config.secret_values() if s]
        # Also the forms a secret takes on the wire, in case a library echoes them.
        variants = set(secrets)
        for s in secrets:
            variants.add(urllib.parse.quote(s, safe=""))
            variants.add(base64.b64encode(s.encode()).decode())
        self._secrets = sorted(variants, key=len, reverse=True)
        self.log = logging.getLogger(f"fallwatch.notify.{config.type}")  # type: ignore[attr-defined]

    @property
    def name(self) -> str:
        return self.config.name

    @abstractmethod
    def send(self, message: Message) -> DeliveryResult:
        """Deliver `message`; ok, a retryable failure, or a permanent one."""

    def check(self) -> None:
        """Raise ValueError naming the field when the channel cannot work (at start-up)."""

    def close(self) -> None:
        """Release connections."""

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class HttpNotifier(Notifier[C]):
    """A channel that is one HTTP request per message, on a pooled `httpx.Client`."""

    def __init__(self, config: C) -> None:
        super().__init__(config)
        timeout = config.timeout_s
        # Connect gets a shorter share: a dead host should fail fast and be retried.
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            headers={"User-Agent": "fallwatch-notify/1"},
            follow_redirects=False,
        )

    def close(self) -> None:
        self._client.close()

    def _request(
        self, method: str, url: str | httpx.URL, **kwargs: Any
    ) -> httpx.Response | DeliveryResult:
        """The response, or a retryable failure for network errors and timeouts."""
        try:
            return self._client.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            return DeliveryResult(ok=False, error=self.redact(f"timeout: {type(exc).__name__}"))
        except httpx.HTTPError as exc:
            return DeliveryResult(ok=False, error=self.redact(f"{type(exc).__name__}: {exc}"))

    def _failure(self, response: httpx.Response, why: str | None = None) -> DeliveryResult:
        status = response.status_code
        answer = self.redact(response.text[:ANSWER_MAX])
        return DeliveryResult(
            ok=False,
            permanent=not retryable_status(status) and 300 <= status < 500,
            http_status=status,
            answer=answer,
            error=self.redact(why or f"HTTP {status} {response.reason_phrase}"),
        )
