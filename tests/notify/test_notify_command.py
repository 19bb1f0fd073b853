"""`fallwatch notify test`: exit 0 delivered, 1 delivery failed, 2 bad config."""

from __future__ import annotations

from pathlib import Path

import pytest

from fallwatch.cli import main
from tests.fakes.notify import SENS_SERVICE_ID, SensServer, WebhookServer

pytestmark = pytest.mark.usefixtures("secrets_env")


def write_config(tmp_path: Path, hook_url: str, sens_url: str = "https://sens.example") -> Path:
    path = tmp_path / "fallwatch.yaml"
    path.write_text(
        f"""
notify:
  channels:
    - name: hook
      type: webhook
      url: {hook_url}/in
      secret: ${{FW_WEBHOOK_SECRET}}
    - name: sms
      type: sens
      base_url: {sens_url}
      service_id: "{SENS_SERVICE_ID}"
      access_key: ${{FW_SENS_ACCESS}}
      secret_key: ${{FW_SENS_SECRET}}
      from_number: "0212345678"
  routes:
    - cameras: ["*"]
      notify:
        - {{channel: hook}}
        - {{channel: sms, to: ["01011112222", "01033334444"]}}
"""
    )
    return path


def test_webhook_test_message_delivered(
    tmp_path: Path, webhook_server: WebhookServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, webhook_server.url)
    assert main(["notify", "test", "--channel", "hook", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    (body,) = webhook_server.accepted
    assert body["kind"] == "test" and body["alert_id"].startswith("test-")
    assert f"ok      hook -> {webhook_server.url}/in: alert id {body['alert_id']}, HTTP 200" in out


def test_sms_goes_to_every_routed_recipient_or_to(
    tmp_path: Path,
    webhook_server: WebhookServer,
    sens_server: SensServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_config(tmp_path, webhook_server.url, sens_server.url)
    assert main(["notify", "test", "--channel", "sms", "--config", str(path)]) == 0
    assert [a["to"] for a in sens_server.accepted] == ["01011112222", "01033334444"]
    assert (
        main(
            [
                "notify",
                "test",
                "--channel",
                "sms",
                "--config",
                str(path),
                "--to",
                "01055556666",
            ]
        )
        == 0
    )
    assert sens_server.accepted[-1]["to"] == "01055556666"
    assert "provider id RSSA-0003" in capsys.readouterr().out


def test_failed_delivery_exits_1_with_the_answer(
    tmp_path: Path, webhook_server: WebhookServer, capsys: pytest.CaptureFixture[str]
) -> None:
    webhook_server.plan = [500]
    path = write_config(tmp_path, webhook_server.url)
    assert main(["notify", "test", "--channel", "hook", "--config", str(path)]) == 1
    out = capsys.readouterr().out
    assert "FAILED  hook" in out and "HTTP 500 Internal Server Error (retryable" in out
    assert 'provider answered: {"error": "planned 500"}' in out


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (
            ["--channel", "pager"],
            "unknown channel 'pager'; configured: ['hook', 'sms']",
        ),
        (
            ["--channel", "sms", "--to", "+82-10"],
            "--to: '+82-10' is not a phone number",
        ),
        (
            ["--channel", "hook", "--to", "01011112222"],
            "channel 'hook' (webhook) takes no --to recipients",
        ),
    ],
)
def test_bad_arguments_exit_2(
    tmp_path: Path, argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, "http://127.0.0.1:9")
    assert main(["notify", "test", "--config", str(path), *argv]) == 2
    assert says in capsys.readouterr().err


def test_bad_config_exits_2_naming_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, "http://127.0.0.1:9")
    monkeypatch.delenv("FW_SENS_SECRET")
    assert main(["notify", "test", "--channel", "hook", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert (
        "fallwatch.yaml: notify.channels[1].sens.secret_key" in err
        and "FW_SENS_SECRET is not set" in err
    )
    assert (
        main(
            [
                "notify",
                "test",
                "--channel",
                "hook",
                "--config",
                str(tmp_path / "none.yaml"),
            ]
        )
        == 2
    )
    assert "none.yaml" in capsys.readouterr().err


def test_the_http_client_s_request_log_is_quiet_unless_verbose(
    tmp_path: Path, webhook_server: WebhookServer
) -> None:
    """httpx logs every request at INFO ("HTTP Request: POST ..."): a library's line
    beside the command's own answer, shown only with -v."""
    import subprocess
    import sys

    path = write_config(tmp_path, webhook_server.url)
    args = ["notify", "test", "--channel", "hook", "--config", str(path)]
    cli = [sys.executable, "-m", "fallwatch.cli"]
    quiet = subprocess.run([*cli, *args], capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0, quiet.stderr
    assert "HTTP Request" not in quiet.stderr, quiet.stderr
    loud = subprocess.run([*cli, "-v", *args], capture_output=True, text=True, timeout=120)
    assert loud.returncode == 0 and "HTTP Request" in loud.stderr, loud.stderr
