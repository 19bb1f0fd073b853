"""The `cluster` section: local by default, Ray only with a PostgreSQL database."""

from __future__ import annotations

import pytest

from fallwatch.config.errors import ConfigError
from fallwatch.config.loader import parse_server_config

PG = "postgresql+psycopg://fallwatch@db/fallwatch"


def test_absent_means_local_worker_processes() -> None:
    config = parse_server_config({}, env={})
    assert config.cluster.engine == "local"


def test_ray_with_postgresql() -> None:
    config = parse_server_config(
        {
            "database_url": PG,
            "cluster": {
                "engine": "ray",
                "address": "10.0.0.2:6379",
                "cpus_per_camera": 0.25,
                "camera_resources": {"dock-1": "site-north"},
            },
        },
        env={},
    )
    assert config.cluster.cpus_per_camera == 0.25
    assert config.cluster.placement == "spread"


@pytest.mark.parametrize("database_url", [None, "sqlite:////var/lib/fallwatch/f.db"])
def test_ray_without_postgresql_is_refused_in_one_line(database_url: str | None) -> None:
    data = {"cluster": {"engine": "ray"}}
    if database_url:
        data["database_url"] = database_url  # type: ignore[assignment]
    with pytest.raises(ConfigError) as err:
        parse_server_config(data, env={})
    text = str(err.value)
    assert "PostgreSQL" in text and "cannot be shared between nodes" in text
    assert "\n" not in text.strip() and "Traceback" not in text


@pytest.mark.parametrize(
    ("cluster", "words"),
    [
        ({"engine": "spark"}, "engine"),
        ({"cpus_per_camera": 0}, "cpus_per_camera"),
        ({"camera_resources": {"dock-1": "no spaces"}}, "resource names"),
        ({"nodes": 3}, "nodes"),
    ],
)
def test_bad_cluster_settings_name_the_field(cluster: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_server_config({"database_url": PG, "cluster": cluster}, env={})
    assert words in str(err.value)


def test_ray_engine_without_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from fallwatch.serve.engine import build_engine
    from tests.fakes.worker import RecordingListener, healthy

    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    config = parse_server_config({"database_url": PG, "cluster": {"engine": "ray"}}, env={})
    with pytest.raises(ValueError, match=r"pip install 'fallwatch\[ray\]'"):
        build_engine(config, RecordingListener(), target=healthy)
