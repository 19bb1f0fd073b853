"""Every `fallwatch` command README.md shows, run as a real process the ways a user and a
script run it: with bad input, with no terminal (stdin from /dev/null), with a reader that
closes the pipe after the first byte (`| head -c1`) or before any (`| true`), and the long
jobs stopped by Ctrl-C. Each ends with its normal output or one line saying what was
wrong, never a traceback; bad input exits non-zero.

The commands come from the README itself: a command added there without bad-input cases
here fails `test_every_readme_command_has_bad_input_cases`.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fallwatch.bench.data import data_dir
from fallwatch.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "fallwatch.cli"]
SHORT_CLIP = "videos/upfall/UPFall_S1_A01_T1_Cam2.mp4"
"""7.9 s of UP-Fall: the shortest real run of the model."""


# ------------------------------------------------------------------ the README's commands
def readme_commands() -> list[list[str]]:
    """Each `fallwatch ...` command line in README.md's code blocks and code spans, as
    words after `fallwatch` (a table's `a\\|b` kept as the word `a|b`)."""
    text = (ROOT / "README.md").read_text()
    fence = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
    spans = fence.findall(text) + re.findall(r"`([^`]+)`", fence.sub("", text))
    commands = []
    for span in spans:
        words = " ".join(span.replace("\\|", "|").split())
        for part in re.split(r"\s(?:&&|\|\||\||;)\s", words):
            found = re.search(r"(?:^|[\s/])fallwatch(\s.*)$", part)
            if found:
                commands.append(found.group(1).split())
    return commands


def subcommands(parser: object) -> dict[str, object]:
    """A parser's subcommand name -> its parser (empty when it has none)."""
    for action in getattr(parser, "_actions", []):
        if action.choices and hasattr(action, "_name_parser_map"):
            return dict(action.choices)
    return {}


def command_key(words: list[str]) -> list[str]:
    """The commands a README line names, as `serve`, `user add` or `--version`: every
    action of a command with actions when the line names none (`fallwatch token`), each
    of `a|b` alternatives."""
    while words and words[0] in ("-v", "--verbose"):  # an option of every command
        words = words[1:]
    if not words or words[0].startswith("-"):
        return words[:1]
    top = subcommands(build_parser())
    if words[0] not in top:
        return [words[0]]  # not a command: test_readme_names_real_commands says so
    actions = subcommands(top[words[0]])
    if not actions:
        return [words[0]]
    named = words[1].split("|") if len(words) > 1 and not words[1].startswith("-") else []
    return [f"{words[0]} {a}" for a in (named or sorted(actions))]


def readme_keys() -> list[str]:
    return sorted({key for words in readme_commands() for key in command_key(words)})


def test_readme_lists_the_commands_it_should() -> None:
    # The parse itself: a README reworded into something this test no longer reads
    # would otherwise leave every check below with nothing to do.
    keys = readme_keys()
    assert {"serve", "analyze", "eval", "bench", "user add", "token list", "--version"} <= set(
        keys
    ), keys


def test_readme_names_real_commands() -> None:
    top = subcommands(build_parser())
    for key in readme_keys():
        if key.startswith("-"):
            continue
        command, _, action = key.partition(" ")
        assert command in top, f"README names `fallwatch {command}`, which does not exist"
        assert not action or action in subcommands(top[command]), key


# ------------------------------------------------------------------ running one
@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def fallwatch(
    *args: object, pipe: str = "capture", env: dict[str, str] | None = None, timeout: int = 180
) -> Ran:
    """`fallwatch ARGS` with stdin from /dev/null (no terminal). `pipe`: "capture" reads
    all of stdout; "head" reads its first byte and closes it (`| head -c1`); "gone"
    closes the reading end before the command starts (`| true`)."""
    argv = [*CLI, *map(str, args)]
    full_env = {**os.environ, **(env or {})}
    if pipe == "head":
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            cwd=ROOT,
        )
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.read(1).decode(errors="replace")
        proc.stdout.close()
        err = proc.stderr.read().decode(errors="replace")
        return Ran(proc.wait(timeout=timeout), first, err)
    read_end, write_end = os.pipe()
    if pipe == "gone":
        os.close(read_end)
    try:
        r = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if pipe == "capture" else write_end,
            stderr=subprocess.PIPE,
            env=full_env,
            cwd=ROOT,
            timeout=timeout,
        )
    finally:
        os.close(write_end)
        if pipe != "gone":
            os.close(read_end)
    out = "" if r.stdout is None else r.stdout.decode(errors="replace")
    return Ran(r.returncode, out, r.stderr.decode(errors="replace"))


def assert_no_traceback(r: Ran) -> None:
    assert "Traceback" not in r.stderr, r.stderr
    # What Python prints when the final flush of a closed pipe fails.
    assert "Exception ignored" not in r.stderr, r.stderr


def assert_one_line_error(r: Ran) -> None:
    """Non-zero exit, and stderr is one `fallwatch...: ...` line (after argparse's usage
    lines for a wrong option)."""
    assert_no_traceback(r)
    assert r.returncode != 0, (r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert lines, "no message at all"
    if lines[0].startswith("usage:"):
        assert all(ln.startswith(("usage:", " ")) for ln in lines[:-1]), r.stderr
        lines = lines[-1:]
    assert len(lines) == 1, f"more than one line:\n{r.stderr}"
    assert re.match(r"fallwatch[\w -]*: ", lines[0]), lines[0]


def assert_output_or_quiet_end(r: Ran) -> None:
    """A run whose reader may have gone: exit 0 (all written in time) or 141 (SIGPIPE's
    code, as a shell reports `yes | head`), nothing on stderr but its own lines."""
    assert_no_traceback(r)
    assert r.returncode in (0, 141), (r.returncode, r.stderr)


# ------------------------------------------------------------------ inputs
class Inputs:
    """Bad (and a few good) inputs, made once in a temporary folder."""

    def __init__(self, root: Path, clips: Path | None, busy_port: int) -> None:
        self.root = root
        self.clips = clips
        """`<data>/falls` when the shared clips are here, else None."""
        self.busy_port = busy_port
        self.missing = root / "no-such-file"
        self.corrupt_video = root / "corrupt.mp4"
        self.corrupt_json = root / "corrupt.json"
        self.broken_yaml = root / "broken.yaml"
        self.unknown_field = root / "unknown-field.yaml"
        self.good_config = root / "fallwatch.yaml"
        self.port_in_use = root / "port-in-use.yaml"
        self.short_password = root / "short-password.txt"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Inputs]:
    root = tmp_path_factory.mktemp("readme")
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    found = data_dir()
    made = Inputs(root, None if found is None else found / "falls", busy.getsockname()[1])
    made.corrupt_video.write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video" * 20)
    made.corrupt_json.write_text('{"videos": [')
    made.broken_yaml.write_text("cameras: [\n")
    made.unknown_field.write_text("cameras: []\nnot_a_setting: 1\n")
    made.good_config.write_text(f"data_dir: {root / 'data'}\ncameras: []\n")
    made.port_in_use.write_text(
        f"data_dir: {root / 'data'}\ncameras: []\nweb:\n  port: {made.busy_port}\n"
    )
    made.short_password.write_text("short\n")
    # A user to list and a token to list, for the closed-pipe runs.
    password = root / "password.txt"
    password.write_text("a-long-enough-password\n")
    for args in (
        ("user", "add", "ada", "--password-file", password),
        ("token", "create", "prometheus"),
    ):
        r = fallwatch(*args, "--config", made.good_config)
        assert r.returncode == 0, r.stderr
    yield made
    busy.close()


def _needs_clips(i: Inputs) -> Path:
    if i.clips is None:
        pytest.skip("shared fall clips not found: set FALLWATCH_DATA or put them in ../shared/data")
    return i.clips


Case = Callable[[Inputs], list[object]]

BAD_INPUT: dict[str, dict[str, Case]] = {
    "--version": {"unknown option": lambda i: ["--no-such-option"]},
    "serve": {
        "missing config": lambda i: ["serve", "--config", i.missing],
        "unknown config field": lambda i: ["serve", "--config", i.unknown_field],
        "port in use": lambda i: ["serve", "--config", i.port_in_use],
        "README config, port in use": lambda i: [
            "serve",
            "--config",
            ROOT / "fallwatch.example.yaml",
            "--port",
            i.busy_port,
        ],
        "wrong port value": lambda i: ["serve", "--port", "eighty"],
    },
    "analyze": {
        "missing video": lambda i: ["analyze", i.missing],
        "corrupt video": lambda i: ["analyze", i.corrupt_video, "--no-progress"],
        "wrong value": lambda i: ["analyze", i.corrupt_video, "--confirm-s", "soon"],
        "unknown option": lambda i: ["analyze", i.corrupt_video, "--no-such-option"],
        "report is a directory": lambda i: [
            "analyze",
            _needs_clips(i) / SHORT_CLIP,
            "--no-video",
            "--report",
            i.root,
        ],
    },
    "eval": {
        "missing manifest": lambda i: ["eval", i.missing],
        "corrupt manifest": lambda i: ["eval", i.corrupt_json],
        "missing data dir": lambda i: ["eval", i.root / "no-data" / "manifest.json"],
        "plots dir is a file": lambda i: [
            "eval",
            _needs_clips(i) / "manifest.json",
            "--plots",
            i.corrupt_video,
        ],
    },
    "bench": {
        "missing video": lambda i: ["bench", i.missing],
        "corrupt video": lambda i: ["bench", i.corrupt_video],
        "wrong value": lambda i: ["bench", i.corrupt_video, "--frames", "0"],
        "missing data dir": lambda i: ["bench", "--analyze-manifest", i.missing],
    },
    "train": {
        "missing manifest": lambda i: ["train", i.missing, "--cache-dir", i.root],
        "corrupt manifest": lambda i: ["train", i.corrupt_json, "--cache-dir", i.root],
        "no --cache-dir": lambda i: ["train", i.corrupt_json],
    },
    "bench-serve": {
        "missing video": lambda i: ["bench-serve", "--video", i.missing],
        "corrupt video": lambda i: ["bench-serve", "--video", i.corrupt_video],
        "wrong value": lambda i: ["bench-serve", "--cameras", "0"],
    },
    "notify test": {
        "missing config": lambda i: ["notify", "test", "--channel", "sms", "--config", i.missing],
        "no such channel": lambda i: [
            "notify",
            "test",
            "--channel",
            "sms",
            "--config",
            i.good_config,
        ],
    },
    "user add": {
        "no terminal for the password": lambda i: ["user", "add", "bob", "--config", i.good_config],
        "short password": lambda i: [
            "user",
            "add",
            "bob",
            "--config",
            i.good_config,
            "--password-file",
            i.short_password,
        ],
        "missing password file": lambda i: [
            "user",
            "add",
            "bob",
            "--config",
            i.good_config,
            "--password-file",
            i.missing,
        ],
        "wrong role": lambda i: ["user", "add", "bob", "--role", "king"],
    },
    "user set": {
        "no such user": lambda i: ["user", "set", "nobody", "--disable", "--config", i.good_config],
        "broken config": lambda i: ["user", "set", "ada", "--disable", "--config", i.broken_yaml],
    },
    "user delete": {
        "no such user": lambda i: ["user", "delete", "nobody", "--config", i.good_config],
    },
    "user list": {
        "unknown config field": lambda i: ["user", "list", "--config", i.unknown_field],
        "missing config": lambda i: ["user", "list", "--config", i.missing],
    },
    "token create": {
        "wrong role": lambda i: ["token", "create", "x", "--role", "king"],
        "broken config": lambda i: ["token", "create", "x", "--config", i.broken_yaml],
    },
    "token list": {"missing config": lambda i: ["token", "list", "--config", i.missing]},
    "token revoke": {
        "no such token": lambda i: ["token", "revoke", "nothing", "--config", i.good_config]
    },
    "config schema": {"unexpected argument": lambda i: ["config", "schema", "extra"]},
    "config check": {
        "missing file": lambda i: ["config", "check", i.missing],
        "broken YAML": lambda i: ["config", "check", i.broken_yaml],
        "unknown field": lambda i: ["config", "check", "--config", i.unknown_field],
        "not YAML at all": lambda i: ["config", "check", i.corrupt_video],
    },
}
"""README command -> bad inputs, each a one-line error and a non-zero exit."""


def test_every_readme_command_has_bad_input_cases() -> None:
    missing = set(readme_keys()) - set(BAD_INPUT)
    assert not missing, f"README commands with no bad-input case here: {sorted(missing)}"


@pytest.mark.parametrize(
    "key,case",
    [(key, case) for key, cases in BAD_INPUT.items() for case in cases],
    ids=[f"{key}: {case}" for key, cases in BAD_INPUT.items() for case in cases],
)
def test_bad_input_gets_one_line_and_no_traceback(inputs: Inputs, key: str, case: str) -> None:
    args = BAD_INPUT[key][case](inputs)
    r = fallwatch(*args, env={"FALLWATCH_DATA": str(inputs.root / "no-data")})
    assert_one_line_error(r)


@pytest.mark.parametrize("key", readme_keys())
def test_help_of_every_readme_command_to_a_reader_that_stops_at_one_byte(key: str) -> None:
    r = fallwatch(*key.split(), "--help", pipe="head")
    assert r.stdout == ("f" if key == "--version" else "u"), r.stdout  # "fallwatch 0.1" / "usage:"
    assert_output_or_quiet_end(r)
    assert r.stderr == ""


OUTPUTS: dict[str, Case] = {
    "version": lambda i: ["--version"],
    "config schema": lambda i: ["config", "schema"],
    "config check": lambda i: ["config", "check", i.good_config],
    "user list": lambda i: ["user", "list", "--config", i.good_config],
    "token list": lambda i: ["token", "list", "--config", i.good_config],
    "token create": lambda i: ["token", "create", "grafana", "--config", i.good_config],
    "analyze": lambda i: [
        "analyze",
        _needs_clips(i) / SHORT_CLIP,
        "--no-video",
        "--report",
        i.root / "pipe" / "events.json",
    ],
}
"""Commands that print their result, for the closed-pipe runs (each needs its output)."""


@pytest.mark.parametrize("pipe", ["head", "gone"])
@pytest.mark.parametrize("name", list(OUTPUTS))
def test_a_reader_that_closes_the_pipe_ends_it_quietly(
    inputs: Inputs, name: str, pipe: str
) -> None:
    r = fallwatch(*OUTPUTS[name](inputs), pipe=pipe)
    assert_output_or_quiet_end(r)
    if pipe == "head":
        assert r.stdout != "", "nothing printed before the pipe closed"


def test_analyze_with_no_terminal_prints_no_progress_bar_or_library_log(inputs: Inputs) -> None:
    clip = _needs_clips(inputs) / SHORT_CLIP
    r = fallwatch("analyze", clip, "--no-video", "--report", inputs.root / "tty" / "e.json")
    assert r.returncode == 0, r.stderr
    assert_no_traceback(r)
    # No tqdm redraws in a log, no LiteRT "INFO: Created TensorFlow Lite XNNPACK delegate".
    assert "frame/s" not in r.stderr and "INFO" not in r.stderr and "XNNPACK" not in r.stderr, (
        r.stderr
    )
    verbose = fallwatch("-v", "analyze", clip, "--no-video", "--report", inputs.root / "v.json")
    assert "XNNPACK" in verbose.stderr and "DEBUG" in verbose.stderr


# ------------------------------------------------------------------ long jobs and Ctrl-C
def interrupted(
    args: list[object], ready: Callable[[str], bool], limit_s: float = 90, cli: list[str] = CLI
) -> Ran:
    """Starts `fallwatch ARGS`, waits until `ready(stderr so far)` or `limit_s`, sends
    SIGINT (Ctrl-C) and collects what it printed."""
    proc = subprocess.Popen(
        [*cli, *map(str, args)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stderr is not None
    fd = proc.stderr.fileno()
    os.set_blocking(fd, False)
    seen, deadline = b"", time.monotonic() + limit_s
    while time.monotonic() < deadline and proc.poll() is None and not ready(seen.decode()):
        try:
            seen += os.read(fd, 65536)
        except BlockingIOError:
            time.sleep(0.2)
    assert proc.poll() is None, f"ended before Ctrl-C: {seen.decode()}"
    proc.send_signal(signal.SIGINT)
    os.set_blocking(fd, True)
    out, err = proc.communicate(timeout=60)
    return Ran(proc.returncode, out.decode(), (seen + err).decode(errors="replace"))


def test_serve_stops_on_ctrl_c_without_a_traceback(inputs: Inputs) -> None:
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    free = port.getsockname()[1]
    port.close()
    r = interrupted(
        ["serve", "--config", inputs.good_config, "--port", free],
        ready=lambda err: "dashboard on" in err,
    )
    assert_no_traceback(r)
    assert r.returncode == 0 and "stopped (SIGINT)" in r.stderr, r.stderr


@pytest.mark.parametrize("command", ["eval", "bench"])
def test_long_jobs_stop_on_ctrl_c_without_a_traceback(inputs: Inputs, command: str) -> None:
    clips = _needs_clips(inputs)
    args: list[object] = (
        ["eval", clips / "manifest.json", "--no-zoom"]
        if command == "eval"
        else ["bench", clips / SHORT_CLIP, "--frames", "100000"]
    )
    # Under way: the model is loaded and frames flow (eval prints its first line).
    r = interrupted(args, ready=lambda err: False, limit_s=8)
    assert_no_traceback(r)
    assert r.returncode == 130, (r.returncode, r.stderr)


def test_ctrl_c_while_the_commands_load_gets_no_traceback(inputs: Inputs) -> None:
    # `-X importtime` reports each module as it finishes loading: once cli.py's last
    # import is in, Ctrl-C lands while `main` loads every command's module (seconds).
    r = interrupted(
        ["bench", inputs.corrupt_video],
        ready=lambda err: re.search(r"\| fallwatch\.config\.errors$", err, re.M) is not None,
        cli=[sys.executable, "-X", "importtime", "-m", "fallwatch.cli"],
    )
    assert_no_traceback(r)
    assert r.returncode == 130, (r.returncode, r.stderr[-2000:])
