"""Secrets never reach logs, stored errors or provider answers, even when sends fail."""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fallwatch.config.notify import NotifyConfig
from fallwatch.notify import Dispatcher, Outbox, build_notifiers
from fallwatch.store.models import Alert, DeliveryAttempt
from fallwatch.types import AlertStatus
from tests.fakes.notify import (
    SENS_ACCESS_KEY,
    SENS_SECRET_KEY,
    SENS_SERVICE_ID,
    SMTP_PASSWORD,
    TWILIO_SID,
    TWILIO_TOKEN,
    WEBHOOK_SECRET,
    FakeClock,
    JsonSink,
    SensServer,
    SmtpInbox,
    TwilioServer,
    WebhookServer,
    make_event,
)

APPRISE_PASSWORD = "apprise-pass-Uu8Ii9Oo"


def test_failing_sends_log_no_secrets(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    sessions: sessionmaker[Session],
    clock: FakeClock,
    sens_server: SensServer,
    twilio_server: TwilioServer,
    webhook_server: WebhookServer,
    json_sink: JsonSink,
    smtp_server: SmtpInbox,
) -> None:
    env = {
        "FW_SENS_ACCESS": SENS_ACCESS_KEY,
        "FW_SENS_SECRET": SENS_SECRET_KEY,
        "FW_TWILIO_TOKEN": TWILIO_TOKEN,
        "FW_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "FW_SMTP_PASSWORD": SMTP_PASSWORD,
        "FW_APPRISE_URL": f"json://fallwatch:{APPRISE_PASSWORD}@127.0.0.1:{json_sink.url.rsplit(':', 1)[1]}/chat",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    sens_server.secret_key = "gateway-expects-another"  # 401, answer echoes the access key
    twilio_server.plan = [500]
    webhook_server.secret = "receiver-expects-another"  # 401
    json_sink.plan = [503]
    channels: list[dict[str, Any]] = [
        {
            "name": "sms",
            "type": "sens",
            "base_url": sens_server.url,
            "service_id": SENS_SERVICE_ID,
            "access_key": "${FW_SENS_ACCESS}",
            "secret_key": "${FW_SENS_SECRET}",
            "from_number": "0212345678",
        },
        {
            "name": "twilio",
            "type": "twilio",
            "base_url": twilio_server.url,
            "account_sid": TWILIO_SID,
            "auth_token": "${FW_TWILIO_TOKEN}",
            "from_number": "+15017122661",
        },
        {
            "name": "hook",
            "type": "webhook",
            "url": f"{webhook_server.url}/in",
            "secret": "${FW_WEBHOOK_SECRET}",
        },
        {"name": "chat", "type": "apprise", "url": "${FW_APPRISE_URL}"},
        # aiosmtpd offers no AUTH without TLS: the login itself fails.
        {
            "name": "mail",
            "type": "email",
            "host": smtp_server.host,
            "port": smtp_server.port,
            "security": "none",
            "username": "fallwatch",
            "password": "${FW_SMTP_PASSWORD}",
            "from_addr": "fw@example.org",
        },
    ]
    config = NotifyConfig.model_validate(
        {
            "channels": channels,
            "routes": [
                {
                    "notify": [
                        {"channel": "sms", "to": ["01011112222"]},
                        {"channel": "twilio", "to": ["+821011112222"]},
                        {"channel": "hook"},
                        {"channel": "chat"},
                        {"channel": "mail", "to": ["nurse@example.org"]},
                    ]
                }
            ],
        }
    )
    caplog.set_level(logging.DEBUG)  # everything, third-party libraries included
    Outbox(sessions, config, clock=clock).record(make_event())
    notifiers = build_notifiers(config)
    with Dispatcher(sessions, notifiers, config, clock=clock) as dispatcher:
        stats = dispatcher.run_once()
    for n in notifiers.values():
        logging.getLogger("test").debug("repr of notifier: %r config: %r", n, n.config)
        n.close()
    with sessions() as session:
        stored = [
            str(v)
            for row in session.execute(select(Alert.last_error, Alert.provider_message_id)).all()
            for v in row
        ] + [
            str(v)
            for row in session.execute(
                select(DeliveryAttempt.error, DeliveryAttempt.provider_answer)
            ).all()
            for v in row
        ]
        statuses = set(session.execute(select(Alert.status)).scalars())

    # The failures really happened and were logged with their reasons...
    assert stats.claimed == 5 and stats.delivered == 0
    assert statuses <= {AlertStatus.FAILED, AlertStatus.PENDING}
    logged = caplog.text
    for name in ("via sms", "via twilio", "via hook", "via chat", "via mail"):
        assert name in logged
    assert "Authentication Failed" in " ".join(stored)  # the SENS answer is kept...
    # ...but no secret, in any form, is in the logs or the database.
    basic = base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
    for secret in (
        SENS_ACCESS_KEY,
        SENS_SECRET_KEY,
        TWILIO_TOKEN,
        basic,
        WEBHOOK_SECRET,
        SMTP_PASSWORD,
        APPRISE_PASSWORD,
    ):
        assert secret not in logged, secret
        assert all(secret not in text for text in stored), secret
