"""Where camera workers run: local processes on this machine, or actors on a Ray cluster.

Absent from the file, everything runs on this machine as before. With `engine: ray`
the web app, event recorder and alert outbox stay in the `fallwatch serve` process (the
head); each camera's worker becomes a Ray actor on one of the cluster's nodes and sends
its frames, figures and events back to the head (docs/cluster.md).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from fallwatch.config.base import Section

RESOURCE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"


class ClusterConfig(Section):
    """The engine that runs camera workers (`engine: local` or `engine: ray`)."""

    engine: Literal["local", "ray"] = Field(
        "local",
        description="local: one worker process per camera on this machine. ray: one Ray "
        "actor per camera on a Ray cluster (pip install 'fallwatch[ray]'); needs a "
        "PostgreSQL database_url.",
    )
    address: str | None = Field(
        None,
        max_length=512,
        description="Ray cluster to join: 'auto' (a cluster started with `ray start` on "
        "this machine), 'host:6379' (the head's GCS address) or 'ray://host:10001'. None: "
        "RAY_ADDRESS from the environment, else a one-machine Ray started for this server.",
    )
    namespace: str = Field(
        "fallwatch",
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="Ray namespace of this server's actors, so two servers can share a "
        "cluster without seeing each other's cameras.",
    )
    cpus_per_camera: float = Field(
        0.25,
        gt=0,
        le=64,
        description="Ray logical CPUs each camera actor reserves; a node started with "
        "`ray start --num-cpus N` takes at most N / cpus_per_camera cameras. A 5 fps MoveNet "
        "camera uses about 0.1 of a core (docs/cluster.md); 0.25 leaves room for decoding "
        "and busy moments.",
    )
    placement: Literal["spread", "pack"] = Field(
        "spread",
        description="spread: cameras spread over the nodes (Ray's SPREAD), so a lost node "
        "takes few cameras with it. pack: Ray's default, which fills a node first.",
    )
    camera_resources: dict[str, str] = Field(
        default_factory=dict,
        description="Cameras that must run on particular nodes (near their network): "
        "camera id -> a custom resource name that only those nodes offer (`ray start "
        "--resources='{\"site-north\": 1000}'`). Each such camera takes 1 unit of it; when "
        "no live node offers it the camera waits instead of moving elsewhere.",
    )
    poll_s: float = Field(
        0.5,
        gt=0,
        le=10,
        description="Longest wait of the head's poll for one camera's messages, seconds; "
        "messages are handed on as soon as they arrive.",
    )

    @field_validator("camera_resources")
    @classmethod
    def _names(cls, v: dict[str, str]) -> dict[str, str]:
        bad = sorted(r for r in v.values() if not re.match(RESOURCE_NAME_PATTERN, r))
        if bad:
            raise ValueError(f"resource names must match {RESOURCE_NAME_PATTERN}, got {bad}")
        return v
