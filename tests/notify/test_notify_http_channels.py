"""SENS, Twilio and webhook notifiers against servers that check them like the providers."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from fallwatch.config.channels import SensSmsChannel, TwilioSmsChannel, WebhookChannel
from fallwatch.notify.message import Message
from fallwatch.notify.sens import SensSmsNotifier, sens_signature
from fallwatch.notify.twilio import TwilioSmsNotifier
from fallwatch.notify.webhook import WebhookNotifier
from fallwatch.types import AlertKind
from tests.fakes.notify import (
    SENS_SERVICE_ID,
    TWILIO_SID,
    WEBHOOK_SECRET,
    SensServer,
    TwilioServer,
    WebhookServer,
)

pytestmark = pytest.mark.usefixtures("secrets_env")

RAISED = datetime(2026, 3, 2, 9, 0, 12, tzinfo=UTC)


def message(recipient: str = "01012345678", **kw: object) -> Message:
    fields: dict[str, object] = {
        "alert_id": "0123456789abcdef",
        "kind": AlertKind.ALERT,
        "channel": "sms",
        "recipient": recipient,
        "camera_id": "ward-1",
        "location": "Ward 1, bed 3",
        "event_id": 7,
        "event_kind": "fall",
        "raised_at": RAISED,
        "down_from_at": datetime(2026, 3, 2, 9, 0, 2, tzinfo=UTC),
        "fall_seen_at": datetime(2026, 3, 2, 9, 0, 1, tzinfo=UTC),
        "down_for_s": 10.0,
        "dashboard_url": "https://fw.example/events/7",
        "snapshot_url": "https://fw.example/events/7/snapshot.jpg",
        "timezone": "Asia/Seoul",
    }
    fields.update(kw)
    return Message(**fields)  # type: ignore[arg-type]


def sens(server: SensServer, **kw: object) -> SensSmsNotifier:
    cfg = SensSmsChannel.model_validate(
        {
            "name": "sms",
            "base_url": server.url,
            "service_id": SENS_SERVICE_ID,
            "access_key": "${FW_SENS_ACCESS}",
            "secret_key": "${FW_SENS_SECRET}",
            "from_number": "0212345678",
            "timeout_s": 2,
        }
        | kw
    )
    return SensSmsNotifier(cfg)


def test_sens_signature_matches_the_documented_recipe() -> None:
    # base64(HMAC-SHA256(secret, "POST {uri}\n{timestamp}\n{access key}")), computed by hand.
    uri = f"/sms/v2/services/{SENS_SERVICE_ID}/messages"
    expected = hmac.new(
        b"secret", f"POST {uri}\n1700000000000\nAK".encode(), hashlib.sha256
    ).digest()
    import base64

    assert (
        sens_signature("secret", "POST", uri, "1700000000000", "AK")
        == base64.b64encode(expected).decode()
    )


def test_sens_sends_a_signed_sms_the_gateway_accepts(sens_server: SensServer) -> None:
    notifier = sens(sens_server)
    result = notifier.send(message())
    notifier.close()
    assert sens_server.violations == []
    assert result.ok and result.http_status == 202
    assert result.provider_message_id == "RSSA-0001"
    (got,) = sens_server.accepted
    assert got["to"] == "01012345678" and got["from"] == "0212345678" and got["countryCode"] == "82"
    assert got["alert_id"] == "0123456789abcdef"
    # 18:00:02 in Seoul; the text is longer than 80 bytes, so 'auto' made it an LMS.
    assert "Ward 1, bed 3 (ward-1) since 18:00:02 (10 s)" in got["content"]
    assert got["type"] == "LMS"


def test_sens_short_text_goes_as_sms(sens_server: SensServer) -> None:
    notifier = sens(sens_server)
    result = notifier.send(
        message(kind=AlertKind.RESOLVED, location=None, camera_id="c1", dashboard_url=None)
    )
    notifier.close()
    assert result.ok
    assert sens_server.accepted[0]["type"] == "SMS"


def test_sens_wrong_secret_is_a_permanent_401_with_the_answer_kept(
    sens_server: SensServer,
) -> None:
    sens_server.secret_key = "the-gateway-knows-another-key"
    notifier = sens(sens_server)
    result = notifier.send(message())
    notifier.close()
    assert not result.ok and result.permanent
    assert result.http_status == 401
    assert "signature mismatch" in (result.answer or "")
    assert sens_server.accepted == []


def test_sens_server_error_is_retryable(sens_server: SensServer) -> None:
    sens_server.plan = [500, 429]
    notifier = sens(sens_server)
    first, second, third = (notifier.send(message()) for _ in range(3))
    notifier.close()
    assert (first.ok, first.permanent, first.http_status) == (False, False, 500)
    assert (second.ok, second.permanent, second.http_status) == (False, False, 429)
    assert third.ok


def test_sens_timeout_is_retryable(sens_server: SensServer) -> None:
    sens_server.plan = ["stall"]
    notifier = sens(sens_server, timeout_s=0.3)
    result = notifier.send(message())
    notifier.close()
    assert not result.ok and not result.permanent
    assert (result.error or "").startswith("timeout")


def twilio(server: TwilioServer) -> TwilioSmsNotifier:
    cfg = TwilioSmsChannel.model_validate(
        {
            "name": "twilio",
            "base_url": server.url,
            "account_sid": TWILIO_SID,
            "auth_token": "${FW_TWILIO_TOKEN}",
            "from_number": "+15017122661",
        }
    )
    return TwilioSmsNotifier(cfg)


def test_twilio_posts_form_fields_with_basic_auth(twilio_server: TwilioServer) -> None:
    notifier = twilio(twilio_server)
    result = notifier.send(message("+821012345678"))
    notifier.close()
    assert twilio_server.violations == []
    assert result.ok and result.http_status == 201
    (got,) = twilio_server.accepted
    assert result.provider_message_id == got["sid"]
    assert got["To"] == "+821012345678" and got["From"] == "+15017122661"
    assert got["Body"].endswith("#0123456789abcdef")


def test_twilio_invalid_number_is_permanent_with_twilio_code(
    twilio_server: TwilioServer,
) -> None:
    notifier = twilio(twilio_server)
    result = notifier.send(message("+15005550001"))
    notifier.close()
    assert not result.ok and result.permanent and result.http_status == 400
    assert '"code": 21211' in (result.answer or "")


def webhook(server: WebhookServer, secret_env: str = "${FW_WEBHOOK_SECRET}") -> WebhookNotifier:
    cfg = WebhookChannel.model_validate(
        {"name": "hook", "url": f"{server.url}/in", "secret": secret_env}
    )
    return WebhookNotifier(cfg)


def test_webhook_body_is_signed_and_carries_the_event(
    webhook_server: WebhookServer,
) -> None:
    notifier = webhook(webhook_server)
    result = notifier.send(message(recipient=""))
    notifier.close()
    assert webhook_server.violations == []
    assert result.ok and result.provider_message_id == "wh-1"
    (rec,) = webhook_server.received
    body = json.loads(rec.body)
    assert rec.headers["idempotency-key"] == "0123456789abcdef"
    assert (
        rec.headers["x-fallwatch-signature"]
        == "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), rec.body, hashlib.sha256).hexdigest()
    )
    assert body["camera_id"] == "ward-1" and body["location"] == "Ward 1, bed 3"
    assert body["kind"] == "alert" and body["event_kind"] == "fall" and body["event_id"] == 7
    assert body["down_from_at"] == "2026-03-02T09:00:02+00:00"
    assert body["raised_at"] == "2026-03-02T09:00:12+00:00"
    assert body["down_for_s"] == 10.0
    assert body["dashboard_url"] == "https://fw.example/events/7"
    assert body["snapshot_url"] == "https://fw.example/events/7/snapshot.jpg"


def test_webhook_retries_send_identical_bodies(webhook_server: WebhookServer) -> None:
    webhook_server.plan = [503]
    notifier = webhook(webhook_server)
    first = notifier.send(message(recipient="", attempt=1))
    second = notifier.send(message(recipient="", attempt=2))
    notifier.close()
    assert not first.ok and not first.permanent and second.ok
    a, b = webhook_server.received
    assert a.body == b.body  # same alert, same bytes: receivers can compare
    assert a.headers["x-fallwatch-attempt"] == "1" and b.headers["x-fallwatch-attempt"] == "2"


def test_webhook_rejected_signature_is_permanent(
    webhook_server: WebhookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FW_OTHER_SECRET", "not-the-receivers-secret")
    notifier = webhook(webhook_server, "${FW_OTHER_SECRET}")
    result = notifier.send(message(recipient=""))
    notifier.close()
    assert not result.ok and result.permanent and result.http_status == 401
    assert webhook_server.violations == ["bad signature"]


def test_unreachable_host_is_retryable() -> None:
    from tests.fakes.notify import free_port

    cfg = WebhookChannel.model_validate(
        {
            "name": "hook",
            "url": f"http://127.0.0.1:{free_port()}/in",
            "secret": "${FW_WEBHOOK_SECRET}",
        }
    )
    notifier = WebhookNotifier(cfg)
    result = notifier.send(message(recipient=""))
    notifier.close()
    assert not result.ok and not result.permanent
    assert "ConnectError" in (result.error or "")
