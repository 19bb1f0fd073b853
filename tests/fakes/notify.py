"""Fakes and builders for notify tests: real servers on 127.0.0.1 standing in for the
providers, checking requests as the providers would.

- `SensServer`: recomputes the SENS v2 HMAC from the received headers and path.
- `TwilioServer`: checks HTTP basic auth and the form fields.
- `WebhookServer`: verifies X-Fallwatch-Signature over the raw body.
- `JsonSink`: what Apprise's json:// posts to.
- `SmtpInbox`: what the aiosmtpd fixture received; `mosquitto_binary` for the broker fixture.

Each HTTP fake runs a fault `plan` first (a status code to answer, or "stall" to hang past
the client's timeout and then answer 503), then behaves. It records every request
(`received`) and what it accepted (`accepted`), so tests count deliveries per alert id.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import shutil
import socket
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from fallwatch.config.notify import NotifyConfig
from fallwatch.types import EventKind, FallEvent

SENS_SERVICE_ID = "ncp:sms:kr:123456789012:fallwatch"
SENS_ACCESS_KEY = "AKIAfallwatchAccess01"
SENS_SECRET_KEY = "sens-secret-Zq8v2LkP0w"
TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "twilio-token-9fG4hJk2Lm"
WEBHOOK_SECRET = "webhook-secret-Hx7cVb3N"
SMTP_PASSWORD = "smtp-password-Qw3Er5Ty"


class FakeClock:
    """An injectable clock: tests move time instead of sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def make_event(
    camera_id: str = "ward-1",
    track_id: int = 1,
    kind: EventKind = EventKind.FALL,
    t_s: float = 112.0,
    down_for_s: float = 10.0,
    fall_seen_before_s: float | None = 1.5,
) -> FallEvent:
    down_from_s = t_s - down_for_s
    return FallEvent(
        kind=kind,
        camera_id=camera_id,
        track_id=track_id,
        t_s=t_s,
        down_from_s=down_from_s,
        fall_seen_s=None if fall_seen_before_s is None else down_from_s - fall_seen_before_s,
        xyxy=(10.0, 20.0, 200.0, 120.0),
        down_score=0.9,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    """Lower-cased names."""
    body: bytes


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class FakeHttpServer:
    """A threaded HTTP server on 127.0.0.1 that runs `plan`, then `handle`."""

    stall_s = 1.5

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.accepted: list[dict[str, Any]] = []
        self.violations: list[str] = []
        self.plan: list[int | str] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                rec = Received(
                    "POST",
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                reply = fake._dispatch(rec)
                raw = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                # The client may have given up (a stall): fine.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _dispatch(self, rec: Received) -> Reply:
        with self._lock:
            self.received.append(rec)
            step = self.plan.pop(0) if self.plan else None
        if step == "stall":
            time.sleep(self.stall_s)
            return Reply(503, {"error": "stalled"})
        if isinstance(step, int):
            return Reply(step, {"error": f"planned {step}"})
        reply, accepted = self.handle(rec)
        if accepted is not None:
            with self._lock:
                self.accepted.append(accepted)
        return reply

    def handle(self, rec: Received) -> tuple[Reply, dict[str, Any] | None]:
        raise NotImplementedError

    def violation(self, text: str, status: int = 400) -> tuple[Reply, None]:
        with self._lock:
            self.violations.append(text)
        return Reply(status, {"error": text}), None

    def accepted_ids(self, key: str = "alert_id") -> Counter[str]:
        return Counter(str(a[key]) for a in self.accepted)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class SensServer(FakeHttpServer):
    """SENS SMS v2 as the API gateway checks it."""

    def __init__(self, secret_key: str = SENS_SECRET_KEY) -> None:
        self.secret_key = secret_key
        super().__init__()

    def handle(self, rec: Received) -> tuple[Reply, dict[str, Any] | None]:
        h = rec.headers
        if rec.path != f"/sms/v2/services/{SENS_SERVICE_ID}/messages":
            return self.violation(f"unexpected path {rec.path}", 404)
        if h.get("content-type") != "application/json; charset=utf-8":
            return self.violation(f"content-type {h.get('content-type')!r}")
        ts, ak, sig = (
            h.get("x-ncp-apigw-timestamp"),
            h.get("x-ncp-iam-access-key"),
            h.get("x-ncp-apigw-signature-v2"),
        )
        if not (ts and ak and sig):
            return self.violation("missing x-ncp headers", 401)
        if abs(int(ts) - time.time() * 1000) > 5 * 60 * 1000:
            return self.violation("timestamp skew over 5 minutes", 401)
        expected = base64.b64encode(
            hmac.new(
                self.secret_key.encode(),
                f"POST {rec.path}\n{ts}\n{ak}".encode(),
                hashlib.sha256,
            ).digest()
        ).decode()
        if ak != SENS_ACCESS_KEY or not hmac.compare_digest(sig, expected):
            # Echoes the access key back, as gateways do: the client must redact it.
            with self._lock:
                self.violations.append("signature mismatch")
            error = {
                "errorCode": "200",
                "message": "Authentication Failed",
                "details": f"signature mismatch for {ak}",
            }
            return Reply(401, {"error": error}), None
        body = json.loads(rec.body.decode("utf-8"))
        if set(body) != {
            "type",
            "contentType",
            "countryCode",
            "from",
            "content",
            "messages",
        }:
            return self.violation(f"body keys {sorted(body)}")
        if body["type"] not in ("SMS", "LMS") or body["contentType"] != "COMM":
            return self.violation(f"type {body['type']} / {body['contentType']}")
        try:
            size = len(body["content"].encode("euc-kr"))
        except UnicodeEncodeError:
            # SENS encodes in EUC-KR and fails the message on a character outside it.
            return self.violation("content has a character outside EUC-KR")
        if body["type"] == "SMS" and size > 90:
            return self.violation(f"SMS content over 90 bytes (EUC-KR): {size}")
        if size > 2000:
            return self.violation(f"LMS content over 2000 bytes (EUC-KR): {size}")
        if not (len(body["messages"]) == 1 and body["messages"][0]["to"].isdigit()):
            return self.violation(f"messages {body['messages']}")
        request_id = f"RSSA-{len(self.accepted) + 1:04d}"
        accepted = {
            "alert_id": body["content"].rsplit("#", 1)[-1],
            "to": body["messages"][0]["to"],
            "from": body["from"],
            "type": body["type"],
            "countryCode": body["countryCode"],
            "content": body["content"],
            "request_id": request_id,
        }
        reply = Reply(
            202,
            {
                "requestId": request_id,
                "requestTime": "2026-03-02T09:00:00.000",
                "statusCode": "202",
                "statusName": "success",
            },
        )
        return reply, accepted


class TwilioServer(FakeHttpServer):
    def handle(self, rec: Received) -> tuple[Reply, dict[str, Any] | None]:
        if rec.path != f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json":
            return self.violation(f"unexpected path {rec.path}", 404)
        auth = rec.headers.get("authorization", "")
        expected = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        if auth != expected:
            reply = Reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
            self.violations.append("bad basic auth")
            return reply, None
        if rec.headers.get("content-type") != "application/x-www-form-urlencoded":
            return self.violation(f"content-type {rec.headers.get('content-type')!r}")
        form = {k: v[0] for k, v in urllib.parse.parse_qs(rec.body.decode()).items()}
        if set(form) != {"To", "From", "Body"}:
            return self.violation(f"form fields {sorted(form)}")
        if form["To"] == "+15005550001":  # Twilio's magic "invalid number"
            return (
                Reply(
                    400,
                    {
                        "code": 21211,
                        "message": f"The 'To' number {form['To']} is not a valid phone number.",
                        "status": 400,
                    },
                ),
                None,
            )
        sid = "SM" + hashlib.md5(rec.body).hexdigest()
        accepted = {"alert_id": form["Body"].rsplit("#", 1)[-1], "sid": sid, **form}
        return Reply(201, {"sid": sid, "status": "queued", "to": form["To"]}), accepted


class WebhookServer(FakeHttpServer):
    def __init__(self, secret: str = WEBHOOK_SECRET) -> None:
        self.secret = secret
        super().__init__()

    def handle(self, rec: Received) -> tuple[Reply, dict[str, Any] | None]:
        h = rec.headers
        expected = "sha256=" + hmac.new(self.secret.encode(), rec.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(h.get("x-fallwatch-signature", ""), expected):
            return self.violation("bad signature", 401)
        if h.get("content-type") != "application/json":
            return self.violation(f"content-type {h.get('content-type')!r}")
        if not h.get("x-fallwatch-timestamp", "").isdigit():
            return self.violation("missing timestamp")
        body = json.loads(rec.body)
        if h.get("idempotency-key") != body.get("alert_id"):
            return self.violation("Idempotency-Key is not the alert id")
        return Reply(200, {"ok": True}, {"X-Request-Id": f"wh-{len(self.accepted) + 1}"}), body


class JsonSink(FakeHttpServer):
    """Takes any JSON POST (Apprise json://)."""

    def handle(self, rec: Received) -> tuple[Reply, dict[str, Any] | None]:
        return Reply(200, {"ok": True}), {"path": rec.path, **json.loads(rec.body)}


def webhook_config(url: str, **sections: Any) -> NotifyConfig:
    """One webhook channel routed for every camera; `sections` override policy/retry/..."""
    return NotifyConfig.model_validate(webhook_config_data(url, **sections))


def webhook_config_data(url: str, **sections: Any) -> dict[str, Any]:
    """`webhook_config` as the YAML's `notify:` mapping (secrets as ${ENV} references)."""
    data: dict[str, Any] = {
        "channels": [
            {
                "name": "hook",
                "type": "webhook",
                "url": f"{url}/fallwatch",
                "secret": "${FW_WEBHOOK_SECRET}",
                "timeout_s": 0.5,
            }
        ],
        "routes": [{"cameras": ["*"], "notify": [{"channel": "hook"}]}],
        "retry": {"base_s": 1, "max_s": 8, "lease_s": 30, "workers": 2},
        "policy": {
            "cooldown_camera_s": 0,
            "cooldown_track_s": 0,
            "hourly_cap_per_camera": 0,
        },
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


@dataclass
class SmtpInbox:
    host: str
    port: int
    mails: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()),
        None,
    )
