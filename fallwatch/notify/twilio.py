"""Twilio SMS: `POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`.

Form-encoded To/From/Body with HTTP basic auth (AccountSid:AuthToken); accepted is
HTTP 201 with the message `sid`.
"""

from __future__ import annotations

from fallwatch.config.channels import TwilioSmsChannel
from fallwatch.notify.base import HttpNotifier
from fallwatch.notify.message import DeliveryResult, Message


class TwilioSmsNotifier(HttpNotifier[TwilioSmsChannel]):
    def send(self, message: Message) -> DeliveryResult:
        cfg = self.config
        url = f"{str(cfg.base_url).rstrip('/')}/2010-04-01/Accounts/{cfg.account_sid}/Messages.json"
        response = self._request(
            "POST",
            url,
            data={
                "To": message.recipient,
                "From": cfg.from_number,
                "Body": message.text(),
            },
            auth=(cfg.account_sid, cfg.auth_token.get_secret_value()),
        )
        if isinstance(response, DeliveryResult):
            return response
        if response.status_code != 201:
            return self._failure(response)
        try:
            sid = response.json().get("sid")
        except ValueError:
            sid = None
        if not sid:
            return self._failure(response, "HTTP 201 without a message sid")
        return DeliveryResult(
            ok=True,
            http_status=201,
            provider_message_id=str(sid),
            answer=self.redact(response.text[:1000]),
        )
