"""Naver Cloud SENS SMS API v2.

`POST {base_url}/sms/v2/services/{serviceId}/messages`, signed with
`x-ncp-apigw-signature-v2 = base64(HMAC-SHA256(secret key, "POST {uri}\\n{ms}\\n{access key}"))`
where `uri` is the request path with its query. Accepted is HTTP 202 with
`statusCode` "202" and a `requestId`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx

from fallwatch.config.channels import SensSmsChannel
from fallwatch.notify.base import HttpNotifier
from fallwatch.notify.message import DeliveryResult, Message

SMS_MAX_BYTES = 80
"""SENS SMS body limit in EUC-KR bytes; longer texts must go as LMS."""


def sens_signature(
    secret_key: str, method: str, uri: str, timestamp_ms: str, access_key: str
) -> str:
    """The `x-ncp-apigw-signature-v2` header value."""
    text = f"{method} {uri}\n{timestamp_ms}\n{access_key}"
    digest = hmac.new(secret_key.encode(), text.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def sms_type(text: str, configured: str) -> str:
    if configured != "auto":
        return configured
    size = len(text.encode("euc-kr", errors="replace"))
    return "SMS" if size <= SMS_MAX_BYTES else "LMS"


class SensSmsNotifier(HttpNotifier[SensSmsChannel]):
    def send(self, message: Message) -> DeliveryResult:
        cfg = self.config
        url = httpx.URL(
            f"{str(cfg.base_url).rstrip('/')}/sms/v2/services/{cfg.service_id}/messages"
        )
        uri = url.raw_path.decode()  # path and query exactly as sent
        # Wall time, not the outbox clock: the gateway refuses more than 5 min of skew.
        timestamp_ms = str(int(time.time() * 1000))
        access_key = cfg.access_key.get_secret_value()
        text = message.text()
        body = {
            "type": sms_type(text, cfg.message_type),
            "contentType": "COMM",
            "countryCode": cfg.country_code,
            "from": cfg.from_number,
            "content": text,
            "messages": [{"to": message.recipient}],
        }
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "x-ncp-apigw-timestamp": timestamp_ms,
            "x-ncp-iam-access-key": access_key,
            "x-ncp-apigw-signature-v2": sens_signature(
                cfg.secret_key.get_secret_value(), "POST", uri, timestamp_ms, access_key
            ),
        }
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        response = self._request("POST", url, content=raw, headers=headers)
        if isinstance(response, DeliveryResult):
            return response
        if response.status_code != 202:
            return self._failure(response)
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if str(answer.get("statusCode")) != "202" or not answer.get("requestId"):
            return self._failure(response, "HTTP 202 without statusCode 202 and a requestId")
        return DeliveryResult(
            ok=True,
            http_status=202,
            provider_message_id=str(answer["requestId"]),
            answer=self.redact(response.text[:1000]),
        )
