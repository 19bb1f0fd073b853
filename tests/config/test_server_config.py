"""Server config: YAML + ${ENV} + FALLWATCH_* overrides, one-line errors, the schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fallwatch.cli import main
from fallwatch.config.errors import ConfigError
from fallwatch.config.loader import (
    config_schema,
    load_server_config,
    parse_server_config,
)
from fallwatch.config.server import CameraConfig, ServerConfig
from tests.fakes.capture import write_video

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fallwatch.yaml"
    path.write_text(text)
    return path


def test_example_file_loads_without_any_environment() -> None:
    config = load_server_config(REPO / "fallwatch.example.yaml", env={})
    demo, corridor = config.cameras
    assert demo.path == (
        REPO
        / ".."
        / "shared"
        / "data"
        / "falls"
        / "videos"
        / "upfall"
        / "UPFall_S1_A01_T1_Cam2.mp4"
    )
    assert demo.loop and demo.fall.confirm_s == 2
    assert corridor.url is not None and not corridor.enabled
    assert config.data_dir == REPO / "fallwatch-data"


def test_the_commented_examples_in_the_example_file_are_valid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Uncommenting the RTSP camera and the notify section gives a valid config."""
    import yaml

    text = (REPO / "fallwatch.example.yaml").read_text()
    lines = text.splitlines()
    i = lines.index("  # - id: ward-3-bed-2")
    while lines[i].startswith("  # "):
        lines[i] = lines[i].replace("# ", "", 1)
        i += 1
    for i in range(lines.index("# notify:"), len(lines)):
        lines[i] = lines[i].replace("# ", "", 1)
    uncommented = "\n".join(lines)
    data = yaml.safe_load(uncommented)
    monkeypatch.setenv("FALLWATCH_WEBHOOK_SECRET", "s3cret")
    config = parse_server_config(data, env={"WARD3_CAM_PASSWORD": "pw"})
    ward = config.cameras[2]
    assert ward.url == "rtsp://viewer:pw@10.0.3.12/stream1" and ward.privacy
    assert ward.fall.zones[0].name == "bed"
    assert config.notify.channels[0].secret.get_secret_value() == "s3cret"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "cameras:\n  - {id: ward-1, path: a.mp4, fall: {confirm_s: -1}}\n",
            "cameras[ward-1].fall.confirm_s: Input should be greater than 0",
        ),
        (
            "cameras:\n  - {id: ward-1, path: a.mp4, analysis_fps: 99}\n",
            "cameras[ward-1].analysis_fps: Input should be less than or equal to 30",
        ),
        ("cameras:\n  - {id: ward-1}\n", "cameras[ward-1]: give exactly one source"),
        (
            "cameras:\n  - {id: a, url: rtsp://h/s, loop: true}\n",
            "loop applies to a file source",
        ),
        (
            "cameras:\n  - {id: a, url: ftp://h/s}\n",
            "cameras[a].url: must be a rtsp://",
        ),
        (
            "cameras:\n  - {id: Bad Id, path: a.mp4}\n",
            "cameras[Bad Id].id: String should match pattern",
        ),
        (
            "cameras:\n  - {id: a, path: a.mp4}\n  - {id: a, path: b.mp4}\n",
            "duplicate ids ['a']",
        ),
        (
            "cameras:\n  - {id: a, path: a.mp4, detector: {type: nope}}\n",
            "cameras[a].detector: Input tag 'nope'",
        ),
        ("web: {port: 0}\n", "web.port: Input should be greater than or equal to 1"),
        (
            "web: {secret_key: literal-secret-that-is-long-enough-1234}\n",
            "web.secret_key: must be a ${ENV_VAR} reference",
        ),
        (
            "cameras:\n  - {id: a, path: a.mp4, analysis_fps: 5, idle_fps: 6}\n",
            "cameras[a]: idle_fps (6) must be <= analysis_fps (5)",
        ),
        (
            "cameras:\n  - {id: a, path: a.mp4, motion: {min_changed_share: 0}}\n",
            "cameras[a].motion.min_changed_share: Input should be greater than 0",
        ),
        (
            "cameras:\n  - {id: a, path: a.mp4, motion: {hold: 3}}\n",
            "cameras[a].motion.hold: Extra inputs are not permitted",
        ),
        ("colour: red\n", "colour: Extra inputs are not permitted"),
        (
            "database_url: mysql://x/y\n",
            "database_url: must be a sqlite:///path or postgresql",
        ),
        ("- a\n- b\n", "expected a mapping of settings at the top level"),
        ("cameras: [\n", "not valid YAML at line 2, column 1"),
        (
            "cameras:\n  - {id: cam, url: 'rtsp://u:${NOPE_UNSET_VAR}@h/s'}\n",
            "cameras[cam].url: environment variable NOPE_UNSET_VAR is not set",
        ),
    ],
)
def test_bad_config_names_the_field_and_the_problem(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_server_config(path, env={})
    message = str(info.value)
    assert expected in message
    assert message.startswith(str(path)) and "\n" not in message


def test_env_references_expand_inside_strings_and_overrides_win(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "data_dir: data\nweb: {port: 8080}\n"
        "cameras:\n  - {id: cam, url: 'rtsp://admin:${CAM_PW}@10.0.0.5/s'}\n",
    )
    env = {
        "CAM_PW": "p@ss",
        "FALLWATCH_WEB_PORT": "9090",
        "FALLWATCH_DATABASE_URL": "sqlite:////tmp/x.db",
    }
    config = load_server_config(path, env=env)
    assert config.cameras[0].url == "rtsp://admin:p@ss@10.0.0.5/s"
    assert config.web.port == 9090
    assert config.database_url == "sqlite:////tmp/x.db"
    assert config.data_dir == tmp_path / "data"


def test_secret_key_from_the_environment_is_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FW_KEY", "k" * 40)
    config = parse_server_config({"web": {"secret_key": "${FW_KEY}"}})
    assert config.web.secret_key is not None
    assert config.web.secret_key.get_secret_value() == "k" * 40
    assert "kkkk" not in repr(config)
    monkeypatch.setenv("FW_KEY", "short")
    with pytest.raises(ConfigError, match=r"web\.secret_key: must be at least 32 characters"):
        parse_server_config({"web": {"secret_key": "${FW_KEY}"}})


def test_defaults_make_a_usable_config() -> None:
    config = ServerConfig()
    assert config.web.port == 8080 and config.cameras == []
    cam = CameraConfig(id="a", path=Path("x.mp4"))
    assert cam.detector.type == "pose" and cam.detector.num_threads == 1
    assert cam.label == "a" and cam.source == "x.mp4"


def test_cli_check_bad_file_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "cameras:\n  - {id: ward-1, path: a.mp4, fall: {confirm_s: 0}}\n")
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cameras[ward-1].fall.confirm_s" in err


def test_cli_check_good_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_video(tmp_path / "a.avi")
    path = write(tmp_path, "cameras:\n  - {id: ward-1, path: a.avi, loop: true}\n")
    assert main(["config", "check", str(path)]) == 0
    assert "1 camera(s)" in capsys.readouterr().out


def test_schema_command_prints_the_committed_schema() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "fallwatch.cli", "config", "schema"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout
    schema = json.loads(out)
    assert schema == config_schema()
    assert "cameras" in schema["properties"] and "notify" in schema["properties"]
    # Only the sections owned here are compared: the notify section changes with its own
    # module, and regenerating the file is one command.
    committed = json.loads((REPO / "docs" / "config.schema.json").read_text())
    ours = (
        "ServerConfig",
        "CameraConfig",
        "WebConfig",
        "WorkersConfig",
        "RecordingConfig",
        "ReconnectConfig",
    )
    for name in ours[1:]:
        assert committed["$defs"][name] == schema["$defs"][name], (
            f"docs/config.schema.json is stale ({name}): fallwatch config schema > docs/config.schema.json"
        )
    assert committed["properties"] == schema["properties"]


def test_motion_gating_is_on_by_default_and_off_at_equal_rates() -> None:
    cam = CameraConfig(id="a", path=Path("a.mp4"))
    assert cam.gated and cam.idle_rate_fps == 1.0 and cam.motion.hold_s > 0
    assert not CameraConfig(id="a", path=Path("a.mp4"), idle_fps=5.0).gated
    assert not CameraConfig(id="a", path=Path("a.mp4"), motion={"enabled": False}).gated
    # Left out, idle_fps never exceeds a camera's own rate below 1 fps.
    slow = CameraConfig(id="a", path=Path("a.mp4"), analysis_fps=0.5)
    assert slow.idle_rate_fps == 0.5 and not slow.gated
    # An edit through the API re-validates every field written out, the default included.
    edited = CameraConfig.model_validate({**slow.model_dump(mode="json"), "analysis_fps": 0.4})
    assert edited.idle_rate_fps == 0.4
    with pytest.raises(ValueError, match=r"idle_fps \(2\) must be <= analysis_fps"):
        CameraConfig(id="a", path=Path("a.mp4"), analysis_fps=1.5, idle_fps=2)
