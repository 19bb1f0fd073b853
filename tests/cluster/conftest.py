"""Fixtures for the Ray cluster tests: a real local Ray cluster, a real PostgreSQL.

Skips with the reason when Ray or PostgreSQL is not installed (`./scripts/install.sh
--dev` installs both).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def ray_cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A head that runs no camera (the control-room machine) and three worker nodes of
    one logical CPU each, all processes on this machine; the test process is the driver."""
    ray = pytest.importorskip("ray", reason="Ray not installed: pip install 'fallwatch[ray]'")
    from ray.cluster_utils import Cluster

    _nodes_import_this_checkout(monkeypatch)
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 0, "include_dashboard": False},
    )
    try:
        for _ in range(3):
            cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, namespace="fallwatch-test", log_to_driver=False)
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.fixture
def ray_one_node(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A one-node Ray cluster on this machine (the engine's own life cycle, not placement)."""
    ray = pytest.importorskip("ray", reason="Ray not installed: pip install 'fallwatch[ray]'")
    from ray.cluster_utils import Cluster

    _nodes_import_this_checkout(monkeypatch)
    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 2, "include_dashboard": False}
    )
    try:
        ray.init(address=cluster.address, namespace="fallwatch-test", log_to_driver=False)
        yield ray
    finally:
        ray.shutdown()
        cluster.shutdown()


def _nodes_import_this_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    # The nodes' worker processes import fallwatch from this checkout (set before the
    # cluster starts them; monkeypatch puts the old value back after the test).
    old_path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(REPO), old_path) if p))
