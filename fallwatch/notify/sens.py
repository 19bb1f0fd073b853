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

SMS_MAX_BYTES = 90
"""SENS SMS body limit in EUC-KR bytes (a Hangul syllable is 2, ASCII 1); longer texts
go as LMS (up to 2000 bytes; SENS cuts what is longer)."""


def sens_signature(
    secret_key: str, method: str, uri: str, timestamp_ms: str, access_key: str
) -> str:
    """The `x-ncp-apigw-signature-v2` header value."""
    text = f"{method} {uri}\n{timestamp_ms}\n{access_key}"
    digest = hmac.new(secret_key.encode(), text.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def sens_text(text: str) -> str:
    """`text` as SENS can send it: the gateway encodes messages in EUC-KR and refuses the
    whole message for one character outside it (an emoji, a rare Hangul syllable), so
    each such character becomes '?'."""
    return text.encode("euc-kr", errors="replace").decode("euc-kr")


def euc_kr_bytes(text: str) -> int:
    """The length SENS counts against its limits."""
    return len(text.encode("euc-kr", errors="replace"))


def sms_type(text: str, configured: str) -> str:
    """'SMS' or 'LMS' for `auto`: by the EUC-KR length, not the UTF-8 one (Korean text
    is 2 bytes a syllable there, 3 in UTF-8)."""
    if configured != "auto":
        return configured
    return "SMS" if euc_kr_bytes(text) <= SMS_MAX_BYTES else "LMS"


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
        text = sens_text(message.text())
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
