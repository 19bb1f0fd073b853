"""Signed JSON webhooks.

Headers: `X-Fallwatch-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`,
`X-Fallwatch-Timestamp` (unix seconds of this attempt), `Idempotency-Key: <alert id>`.
The body is the same on every retry of one alert, so the key and the signature are too;
a receiver verifies the signature over the raw bytes before parsing them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from fallwatch.config.channels import WebhookChannel
from fallwatch.notify.base import HttpNotifier
from fallwatch.notify.message import DeliveryResult, Message

SIGNATURE_HEADER = "X-Fallwatch-Signature"


def webhook_signature(secret: str, raw_body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()


class WebhookNotifier(HttpNotifier[WebhookChannel]):
    def send(self, message: Message) -> DeliveryResult:
        raw = json.dumps(message.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: webhook_signature(self.config.secret.get_secret_value(), raw),
            "X-Fallwatch-Timestamp": str(int(time.time())),
            "X-Fallwatch-Attempt": str(message.attempt),
            "Idempotency-Key": message.alert_id,
        }
        response = self._request("POST", str(self.config.url), content=raw, headers=headers)
        if isinstance(response, DeliveryResult):
            return response
        if not 200 <= response.status_code < 300:
            return self._failure(response)
        return DeliveryResult(
            ok=True,
            http_status=response.status_code,
            provider_message_id=response.headers.get("X-Request-Id"),
            answer=self.redact(response.text[:1000]),
        )
