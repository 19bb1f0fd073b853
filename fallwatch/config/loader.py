"""Read `fallwatch.yaml` into a validated `ServerConfig`: YAML, `${ENV}` references, overrides.

- Any string may hold `${ENV_VAR}` references, expanded from the environment
  (`rtsp://admin:${CAM1_PASSWORD}@10.0.0.5/stream1`); an unset variable is an error that
  names the field. Secret fields (`web.secret_key` and everything under `notify:`) are
  left to their own validators, which insist on a reference so a secret is never
  written in the file.
- `FALLWATCH_DATA_DIR`, `FALLWATCH_DATABASE_URL`, `FALLWATCH_WEB_HOST` and
  `FALLWATCH_WEB_PORT` override the file (containers set these).
- Relative paths (`data_dir`, camera `path`) are relative to the config file.

Every problem is a `ConfigError` (a `ValueError`) whose one-line message names the file,
the field and the problem; the CLI prints it and exits 2.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from fallwatch.config.errors import ConfigError, field_name, format_validation_error
from fallwatch.config.notify import NotifyConfig
from fallwatch.config.server import ServerConfig

_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

ENV_OVERRIDES: dict[str, tuple[str, ...]] = {
    "FALLWATCH_DATA_DIR": ("data_dir",),
    "FALLWATCH_DATABASE_URL": ("database_url",),
    "FALLWATCH_WEB_HOST": ("web", "host"),
    "FALLWATCH_WEB_PORT": ("web", "port"),
}
"""Environment variables that replace one setting of the file, and which."""

_SECRET_SUBTREES: tuple[tuple[str, ...], ...] = (("notify",), ("web", "secret_key"))
"""Left unexpanded: their validators read `${ENV}` themselves and refuse literals."""


def _expand(value: Any, where: tuple[Any, ...], env: Mapping[str, str], root: Any) -> Any:
    if any(where[: len(s)] == s for s in _SECRET_SUBTREES):
        return value
    if isinstance(value, dict):
        return {k: _expand(v, (*where, k), env, root) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, (*where, i), env, root) for i, v in enumerate(value)]
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                raise ConfigError(
                    f"{field_name(where, root)}: environment variable {name} is not set"
                )
            return env[name]

        return _REF.sub(sub, value)
    return value


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    def resolve(value: Any) -> Any:
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            return str(base / value)
        if isinstance(value, str):
            return str(Path(value).expanduser())
        return value

    if "data_dir" in data:
        data["data_dir"] = resolve(data["data_dir"])
    else:
        data["data_dir"] = str(base / "fallwatch-data")
    for cam in data.get("cameras") or []:
        if isinstance(cam, dict) and "path" in cam:
            cam["path"] = resolve(cam["path"])


def parse_server_config(
    data: Any,
    *,
    base_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    source: str = "config",
) -> ServerConfig:
    """Validate already-parsed YAML (a mapping); see the module docstring."""
    env = os.environ if env is None else env
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: expected a mapping of settings at the top level, got {type(data).__name__}"
        )
    try:
        data = _expand(data, (), env, data)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    for var, key in ENV_OVERRIDES.items():
        if env.get(var):
            node = data
            for part in key[:-1]:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise ConfigError(f"{source}: {'.'.join(key[:-1])}: expected a mapping")
            node[key[-1]] = env[var]
    if base_dir is not None:
        _resolve_paths(data, base_dir)
    try:
        return ServerConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {format_validation_error(exc, data)}") from None


def read_yaml(path: Path | str) -> Any:
    """The parsed YAML of a config file. Raises `ConfigError` with a one-line message."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from None


def load_server_config(path: Path | str, env: Mapping[str, str] | None = None) -> ServerConfig:
    """Read and validate a config file. Raises `ConfigError` with a one-line message."""
    path = Path(path)
    return parse_server_config(
        read_yaml(path), base_dir=path.resolve().parent, env=env, source=str(path)
    )


def load_notify_config(path: Path | str) -> NotifyConfig:
    """Only the `notify:` section of a config file (`fallwatch notify test`), read as
    `load_server_config` reads it: its secrets come from `${ENV}` through their own
    validators. Raises `ConfigError` with a one-line message."""
    data = read_yaml(path)
    if not isinstance(data, dict) or "notify" not in data:
        raise ConfigError(f"{path}: expected a mapping with a top-level 'notify:' key")
    try:
        return NotifyConfig.model_validate(data["notify"] or {})
    except ValidationError as exc:
        raise ConfigError(f"{path}: {format_validation_error(exc, data, ('notify',))}") from None


def config_schema() -> dict[str, Any]:
    """The JSON schema of the config file (for editors and docs/config.schema.json)."""
    schema = ServerConfig.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Fallwatch server config (fallwatch.yaml)"
    return schema
