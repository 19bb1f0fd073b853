"""Fixtures for the Ray cluster tests: a real local Ray cluster, a real PostgreSQL.

Skips with the reason when Ray or PostgreSQL is not installed (`./scripts/install.sh
--dev` installs both).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.web import postgres_bin, run_postgres

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if postgres_bin() is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    base = Path(tempfile.mkdtemp(prefix="fallwatch-pg-"))
    try:
        yield from run_postgres(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def ray_cluster() -> Iterator[Any]:
    """A head that runs no camera (the control-room machine) and three worker nodes of
    one logical CPU each, all processes on this machine; the test process is the driver."""
    ray = pytest.importorskip("ray", reason="Ray not installed: pip install 'fallwatch[ray]'")
    from ray.cluster_utils import Cluster

    # The nodes' worker processes import fallwatch (and tests' nothing) from this checkout.
    old_path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), old_path) if p)
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
        if old_path is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old_path


@pytest.fixture
def ray_one_node() -> Iterator[Any]:
    """A one-node Ray cluster on this machine (the engine's own life cycle, not placement)."""
    ray = pytest.importorskip("ray", reason="Ray not installed: pip install 'fallwatch[ray]'")
    from ray.cluster_utils import Cluster

    old_path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), old_path) if p)
    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 2, "include_dashboard": False}
    )
    try:
        ray.init(address=cluster.address, namespace="fallwatch-test", log_to_driver=False)
        yield ray
    finally:
        ray.shutdown()
        cluster.shutdown()
        if old_path is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old_path
