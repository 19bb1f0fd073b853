"""Alert texts in the site's language (notify.locale) and the site's own templates
(notify.templates), and Korean SMS through SENS: the SMS/LMS choice by EUC-KR bytes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from fallwatch.cli import main
from fallwatch.config.channels import EmailChannel
from fallwatch.config.messages import MessageTemplates
from fallwatch.config.notify import NotifyConfig
from fallwatch.notify import Dispatcher, Outbox, build_notifiers
from fallwatch.notify.email import EmailNotifier
from fallwatch.notify.message import Message
from fallwatch.notify.sens import euc_kr_bytes, sms_type
from fallwatch.types import AlertKind
from tests.fakes.notify import (
    SENS_SERVICE_ID,
    FakeClock,
    SensServer,
    WebhookServer,
    make_event,
    webhook_config,
)

pytestmark = pytest.mark.usefixtures("secrets_env")


def sens_yaml(tmp_path: Path, sens_url: str, extra: str = "") -> Path:
    path = tmp_path / "fallwatch.yaml"
    path.write_text(
        f"""
notify:
  locale: ko
  timezone: Asia/Seoul
{extra}
  channels:
    - name: sms
      type: sens
      base_url: {sens_url}
      service_id: "{SENS_SERVICE_ID}"
      access_key: ${{FW_SENS_ACCESS}}
      secret_key: ${{FW_SENS_SECRET}}
      from_number: "0212345678"
  routes:
    - notify: [{{channel: sms, to: ["01011112222"]}}]
""",
        encoding="utf-8",
    )
    return path


def message(**kw: object) -> Message:
    fields: dict[str, object] = {
        "alert_id": "0123456789abcdef",
        "kind": AlertKind.ALERT,
        "channel": "sms",
        "recipient": "01012345678",
        "camera_id": "ward-1",
        "location": "3층 복도",
        "event_id": 7,
        "event_kind": "fall",
        "raised_at": datetime(2026, 3, 2, 9, 0, 12, tzinfo=UTC),
        "down_from_at": datetime(2026, 3, 2, 9, 0, 2, tzinfo=UTC),
        "fall_seen_at": None,
        "down_for_s": 10.0,
        "dashboard_url": "https://fw.example/events/7",
        "timezone": "Asia/Seoul",
        "locale": "ko",
    }
    fields.update(kw)
    return Message(**fields)  # type: ignore[arg-type]


def test_notify_test_sends_a_korean_sms_the_sens_stand_in_accepts(
    tmp_path: Path, sens_server: SensServer
) -> None:
    path = sens_yaml(tmp_path, sens_server.url)
    assert main(["notify", "test", "--channel", "sms", "--config", str(path)]) == 0
    assert sens_server.violations == []
    (got,) = sens_server.accepted
    body, alert_id = got["content"].rsplit(" #", 1)
    assert body == "Fallwatch 시험 메시지 (채널 sms). 조치 불필요."
    assert alert_id.startswith("test-")
    assert got["type"] == "SMS"


def test_a_site_template_up_to_90_euc_kr_bytes_goes_as_one_sms(
    tmp_path: Path, sens_server: SensServer
) -> None:
    # 84 bytes in EUC-KR with the ' #test-<16 hex>' id (108 in UTF-8): one SMS for SENS.
    template = "[관제실] {kind}: 3층 간호사실 옆 복도 즉시 확인 바랍니다"
    extra = f'  templates:\n    ko: {{sms: "{template}"}}\n    en: {{sms: "English {{kind}}"}}'
    path = sens_yaml(tmp_path, sens_server.url, extra)
    assert main(["notify", "test", "--channel", "sms", "--config", str(path)]) == 0
    assert sens_server.violations == []
    (got,) = sens_server.accepted
    assert got["content"].startswith(
        "[관제실] 시험 메시지: 3층 간호사실 옆 복도 즉시 확인 바랍니다 #test-"
    )
    assert 80 < euc_kr_bytes(got["content"]) <= 90 < len(got["content"].encode())
    assert got["type"] == "SMS"


def test_a_longer_korean_text_goes_as_lms(tmp_path: Path, sens_server: SensServer) -> None:
    template = "[관제실] {kind}: 3층 간호사실 옆 복도를 지금 바로 확인해 주시기 바랍니다"
    path = sens_yaml(tmp_path, sens_server.url, f'  templates:\n    ko: {{sms: "{template}"}}')
    assert main(["notify", "test", "--channel", "sms", "--config", str(path)]) == 0
    assert sens_server.violations == []
    (got,) = sens_server.accepted
    assert euc_kr_bytes(got["content"]) > 90 and got["type"] == "LMS"


def test_characters_sens_cannot_send_are_replaced(sens_server: SensServer) -> None:
    from tests.notify.test_notify_http_channels import sens

    notifier = sens(sens_server)
    result = notifier.send(message(location="병동 🚑", dashboard_url=None))
    notifier.close()
    assert result.ok and sens_server.violations == []
    assert "병동 ?" in sens_server.accepted[0]["content"]


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{kind} at {camera_name}", "unknown placeholder {camera_name}; known: {kind}, {camera}"),
        ("{kind} {place", "expected '}' before end of string"),
        ("{camera.id}", "unknown placeholder {camera.id}"),
    ],
)
def test_a_bad_template_is_a_one_line_config_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    template: str,
    problem: str,
) -> None:
    path = sens_yaml(
        tmp_path, "https://sens.example", f'  templates:\n    ko: {{sms: "{template}"}}'
    )
    assert main(["notify", "test", "--channel", "sms", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "notify.templates.ko.sms: " in err and problem in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_templates_only_for_supported_languages() -> None:
    with pytest.raises(ValidationError, match="templates"):
        NotifyConfig.model_validate({"templates": {"fr": {"sms": "{kind}"}}})
    with pytest.raises(ValidationError, match="locale"):
        NotifyConfig.model_validate({"locale": "jp"})


def test_built_in_korean_texts() -> None:
    m = message()
    assert m.title() == "쓰러진 사람 발생: 3층 복도 (ward-1)"
    assert m.text() == (
        "Fallwatch: 3층 복도 (ward-1) 쓰러진 사람 발생, 18:00:02부터 (10초). "
        "https://fw.example/events/7 #0123456789abcdef"
    )
    resolved = message(kind=AlertKind.RESOLVED, detail=None, dashboard_url=None)
    assert resolved.text() == "Fallwatch: 3층 복도 (ward-1) 상황 해결. #0123456789abcdef"
    assert sms_type(resolved.text(), "auto") == "SMS"
    # English stays as it was.
    assert message(locale="en").title() == "Person down: 3층 복도 (ward-1)"


def test_email_subject_and_body_from_the_site_templates() -> None:
    templates = MessageTemplates(
        email_subject="{kind} - {place}",
        email_body="{location}에서 {time}부터 {down_for}초 동안 쓰러져 있음.\n{link}\n#{alert_id}",
    )
    channel = EmailChannel.model_validate(
        {"name": "mail", "type": "email", "host": "127.0.0.1", "from_addr": "fw@example.org"}
    )
    mail = EmailNotifier(channel).build(message(recipient="duty@example.org", templates=templates))
    assert mail["Subject"] == "[Fallwatch] 쓰러진 사람 발생 - 3층 복도 (ward-1)"
    assert mail.get_content() == (
        "3층 복도에서 18:00:02부터 10초 동안 쓰러져 있음.\n"
        "https://fw.example/events/7\n#0123456789abcdef\n"
    )
    # Without templates: the built-in Korean body.
    plain = EmailNotifier(channel).build(message(recipient="duty@example.org")).get_content()
    assert "쓰러진 시각: 2026-03-02T09:00:02+00:00" in plain
    assert "알림 ID: 0123456789abcdef" in plain


def test_the_dispatcher_sends_in_the_notify_locale(
    sessions: sessionmaker[Session], webhook_server: WebhookServer, clock: FakeClock
) -> None:
    config = webhook_config(webhook_server.url, locale="ko", timezone="Asia/Seoul")
    Outbox(sessions, config, clock=clock).record(make_event(camera_id="ward-1"))
    notifiers = build_notifiers(config)
    with Dispatcher(sessions, notifiers, config, clock=clock) as dispatcher:
        assert dispatcher.run_once().delivered == 1
    notifiers["hook"].close()
    (body,) = webhook_server.accepted
    assert body["title"] == "쓰러진 사람 발생: ward-1"
    assert body["text"].startswith("Fallwatch: ward-1 쓰러진 사람 발생, ")
    assert body["kind"] == "alert"  # the machine-readable fields stay as they are
