"""Config: secrets only from the environment or files, errors that name the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from fallwatch.config.errors import format_validation_error
from fallwatch.config.loader import load_notify_config
from fallwatch.config.notify import NotifyConfig
from fallwatch.notify.registry import build_notifiers
from fallwatch.notify.routing import Router
from fallwatch.store.alerts import AlertTarget
from tests.fakes.notify import SENS_SECRET_KEY, WEBHOOK_SECRET

pytestmark = pytest.mark.usefixtures("secrets_env")

SENS: dict[str, Any] = {
    "name": "sms",
    "type": "sens",
    "service_id": "ncp:sms:kr:1:fw",
    "access_key": "${FW_SENS_ACCESS}",
    "secret_key": "${FW_SENS_SECRET}",
    "from_number": "0212345678",
}
HOOK: dict[str, Any] = {
    "name": "hook",
    "type": "webhook",
    "url": "https://ops.example/fw",
    "secret": "${FW_WEBHOOK_SECRET}",
}


def config(**data: Any) -> NotifyConfig:
    return NotifyConfig.model_validate({"channels": [SENS, HOOK]} | data)


def error_of(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        NotifyConfig.model_validate(data)
    return format_validation_error(info.value)


def test_secrets_come_from_the_environment_and_never_show() -> None:
    cfg = config()
    sms = cfg.channel("sms")
    assert sms.secret_key.get_secret_value() == SENS_SECRET_KEY  # type: ignore[union-attr]
    for text in (repr(cfg), str(cfg), cfg.model_dump_json(), repr(sms)):
        assert SENS_SECRET_KEY not in text and WEBHOOK_SECRET not in text
    assert "**********" in repr(sms)


def test_secret_file(tmp_path: Path) -> None:
    (tmp_path / "ncp").write_text("from-a-file\n")
    cfg = NotifyConfig.model_validate(
        {"channels": [{**SENS, "secret_key": None, "secret_key_file": str(tmp_path / "ncp")}]}
    )
    assert cfg.channel("sms").secret_key.get_secret_value() == "from-a-file"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "named", "says"),
    [
        (
            {"secret_key": "${FW_NOT_SET}"},
            "channels[0].sens.secret_key",
            "environment variable FW_NOT_SET is not set",
        ),
        (
            {"secret_key": "hunter2-typed-in-the-file"},
            "channels[0].sens.secret_key",
            "must be a ${ENV_VAR} reference",
        ),
        (
            {"secret_key": None, "secret_key_file": "/nonexistent/ncp"},
            "secret_key_file",
            "cannot read /nonexistent/ncp",
        ),
        (
            {"access_key": "${FW_SENS_ACCESS}", "access_key_file": "/x"},
            "channels[0].sens",
            "give access_key or access_key_file, not both",
        ),
        ({"base_url": "not a url"}, "channels[0].sens.base_url", "URL"),
        ({"from_number": "02-1234-5678"}, "channels[0].sens.from_number", "pattern"),
        (
            {"type": "pager"},
            "channels[0]",
            "expected tags: 'sens', 'twilio', 'webhook', 'email', 'mqtt', 'apprise'",
        ),
        ({"timeout_s": 0}, "channels[0].sens.timeout_s", "greater than 0"),
        ({"colour": "red"}, "channels[0].sens.colour", "Extra inputs are not permitted"),
    ],
)
def test_misconfigured_channel_names_the_field(
    change: dict[str, Any], named: str, says: str
) -> None:
    channel = {k: v for k, v in {**SENS, **change}.items() if v is not None}
    message = error_of({"channels": [channel]})
    assert named in message and says in message
    assert "hunter2" not in message


def test_missing_key_is_named() -> None:
    channel = {k: v for k, v in SENS.items() if k != "access_key"}
    assert "channels[0].sens.access_key: Field required" in error_of({"channels": [channel]})


def test_literal_secret_is_not_echoed_in_the_exception() -> None:
    with pytest.raises(ValidationError) as info:
        NotifyConfig.model_validate({"channels": [{**HOOK, "secret": "typed-secret-value"}]})
    assert "typed-secret-value" not in str(info.value)


@pytest.mark.parametrize(
    ("routes", "says"),
    [
        (
            [{"notify": [{"channel": "pager"}]}],
            "routes[0].notify[0].channel: unknown channel 'pager'",
        ),
        (
            [{"notify": [{"channel": "sms"}]}],
            "routes[0].notify[0].to: channel 'sms' needs at least one phone number",
        ),
        (
            [{"notify": [{"channel": "sms", "to": ["+82 10 1234"]}]}],
            "routes[0].notify[0].to[0]: '+82 10 1234' is not a phone number",
        ),
        (
            [{"notify": [{"channel": "hook", "to": ["x"]}]}],
            "routes[0].notify[0].to: channel 'hook' (webhook) sends to one destination",
        ),
        (
            [{"groups": ["wards"], "notify": [{"channel": "hook"}]}],
            "routes[0].groups: unknown camera group 'wards'",
        ),
        (
            [{"notify": [{"channel": "hook"}], "escalate_to": [{"channel": "nope"}]}],
            "routes[0].escalate_to[0].channel",
        ),
    ],
)
def test_bad_routes_name_the_place(routes: list[dict[str, Any]], says: str) -> None:
    assert says in error_of({"channels": [SENS, HOOK], "routes": routes})


def test_lease_must_outlast_slow_sends() -> None:
    message = error_of({"channels": [{**HOOK, "timeout_s": 60}], "retry": {"lease_s": 100}})
    assert "retry.lease_s (100.0) must exceed twice the longest channel timeout_s (60.0)" in message


def test_unknown_time_zone_is_named() -> None:
    assert "timezone: unknown time zone 'Mars/Olympus'" in error_of({"timezone": "Mars/Olympus"})


def test_routes_by_id_glob_and_group() -> None:
    cfg = config(
        camera_groups={"wards": ["ward-*"]},
        routes=[
            {"cameras": ["lobby"], "notify": [{"channel": "hook"}]},
            {
                "cameras": [],
                "groups": ["wards"],
                "notify": [{"channel": "sms", "to": ["01011112222", "01033334444"]}],
                "escalate_to": [{"channel": "sms", "to": ["01099990000"]}],
            },
            {"cameras": ["*"], "notify": [{"channel": "hook"}]},
        ],
    )
    router = Router(cfg)
    assert router.alert_targets("ward-2") == [
        AlertTarget("sms", "01011112222"),
        AlertTarget("sms", "01033334444"),
        AlertTarget("hook", ""),
    ]
    assert router.alert_targets("lobby") == [AlertTarget("hook", "")]  # de-duplicated
    assert router.escalation_targets("lobby") == []
    assert router.escalation_targets("ward-9") == [AlertTarget("sms", "01099990000")]


def test_yaml_loader(tmp_path: Path) -> None:
    path = tmp_path / "fallwatch.yaml"
    path.write_text(
        "notify:\n"
        "  channels:\n"
        "    - {name: hook, type: webhook, url: 'https://ops.example/fw', secret: '${FW_WEBHOOK_SECRET}'}\n"
        "  routes:\n"
        "    - notify: [{channel: hook}]\n"
    )
    assert load_notify_config(path).channel("hook").type == "webhook"
    path.write_text("detector: {}\n")
    with pytest.raises(ValueError, match="top-level 'notify:' key"):
        load_notify_config(path)


def test_start_up_check_names_a_bad_apprise_url_without_showing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FW_CHAT", "nosuchservice://token-abc123/chat")
    cfg = NotifyConfig.model_validate(
        {"channels": [HOOK, {"name": "chat", "type": "apprise", "url": "${FW_CHAT}"}]}
    )
    with pytest.raises(ValueError) as info:
        build_notifiers(cfg)
    assert "channel 'chat': url: Apprise does not support this URL (scheme 'nosuchservice')" in str(
        info.value
    )
    assert "token-abc123" not in str(info.value)


def test_yaml_loader_names_the_file_and_the_field(tmp_path: Path) -> None:
    """The notify section is read by the one config loader: its errors are one line
    naming the file and the field under `notify`, like the server config's."""
    path = tmp_path / "fallwatch.yaml"
    path.write_text("notify:\n  timezone: Mars/Olympus\n")
    with pytest.raises(ValueError, match=r"fallwatch\.yaml: notify\.timezone: unknown time zone"):
        load_notify_config(path)
    with pytest.raises(ValueError, match="no such config file"):
        load_notify_config(tmp_path / "missing.yaml")
    path.write_text("notify: [unclosed\n")
    with pytest.raises(ValueError, match="not valid YAML at line"):
        load_notify_config(path)
