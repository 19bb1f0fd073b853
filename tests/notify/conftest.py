"""Fixtures for notify tests: a migrated SQLite file, a fake clock, provider servers, a broker.

The fakes and builders themselves are in `tests.fakes.notify`.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from fallwatch.store.db import make_engine, migrate, session_factory
from tests.fakes.notify import (
    SENS_ACCESS_KEY,
    SENS_SECRET_KEY,
    SMTP_PASSWORD,
    TWILIO_TOKEN,
    WEBHOOK_SECRET,
    FakeClock,
    JsonSink,
    SensServer,
    SmtpInbox,
    TwilioServer,
    WebhookServer,
    free_port,
    mosquitto_binary,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'data' / 'fallwatch.db'}"


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FW_SENS_ACCESS", SENS_ACCESS_KEY)
    monkeypatch.setenv("FW_SENS_SECRET", SENS_SECRET_KEY)
    monkeypatch.setenv("FW_TWILIO_TOKEN", TWILIO_TOKEN)
    monkeypatch.setenv("FW_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("FW_SMTP_PASSWORD", SMTP_PASSWORD)


@pytest.fixture
def sens_server() -> Iterator[SensServer]:
    server = SensServer()
    yield server
    server.close()


@pytest.fixture
def twilio_server() -> Iterator[TwilioServer]:
    server = TwilioServer()
    yield server
    server.close()


@pytest.fixture
def webhook_server() -> Iterator[WebhookServer]:
    server = WebhookServer()
    yield server
    server.close()


@pytest.fixture
def json_sink() -> Iterator[JsonSink]:
    server = JsonSink()
    yield server
    server.close()


@pytest.fixture
def smtp_server() -> Iterator[SmtpInbox]:
    from aiosmtpd.controller import Controller

    inbox = SmtpInbox("127.0.0.1", free_port())

    class Handler:
        async def handle_RCPT(
            self, server: Any, session: Any, envelope: Any, address: str, options: Any
        ) -> str:
            if address in inbox.refuse:
                return "550 5.1.1 mailbox unavailable"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            inbox.mails.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
            return "250 Message accepted for delivery"

    controller = Controller(Handler(), hostname=inbox.host, port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[int]:
    """A real mosquitto broker on a free port; yields the port."""
    binary = mosquitto_binary()
    if binary is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto; it is in .ci/run)")
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n"
    )
    proc = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode() if proc.stderr else ""
                proc.kill()
                pytest.fail(f"mosquitto did not start: {err}")
            time.sleep(0.05)
    yield port
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
