"""Camera workers on a Ray cluster (`fallwatch bench-serve --engine ray --nodes N`).

Starts a local Ray cluster on this machine (Ray's `Cluster`: a head that runs no camera,
as the control-room machine, and N worker nodes), runs the server in-process with its
`cluster.engine` set to ray and M looping file cameras, and prints:

- where each camera runs (cameras per node),
- analysed fps per camera, its actor's CPU (percent of one core) and the bytes per
  second it sends back to the head (JPEG frames and events),
- the head's CPU: the server process (pumps, recorder, hub) and Ray's own head
  processes (GCS and the head's raylet), in all and per camera,
- the failover time: the node with the most cameras is killed, and the clock runs until
  each of its cameras delivers frames again from another node,

with the machine's load before and after. Every node shares this machine's cores, so
the figures measure the parts (per-camera cost, head cost, traffic), not a speed-up;
docs/cluster.md turns them into a hundred-camera estimate.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fallwatch.bench.machine import cpu_model, load_average_1min

if TYPE_CHECKING:
    from fallwatch.pipeline.packets import CameraEvent, CameraStats, FramePacket
    from fallwatch.serve.app import FallwatchServer
    from fallwatch.serve.listener import WorkerRouter
    from fallwatch.serve.supervisor import WorkerReport

DEFAULT_CLIP = "videos/upfall/UPFall_S1_A01_T1_Cam2.mp4"
START_TIMEOUT_S = 240.0
FAILOVER_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class ClusterBenchSettings:
    nodes: int
    """Ray worker nodes to start on this machine (the head runs no camera)."""
    cameras: int
    video: Path | None
    analysis_fps: float
    seconds: float
    """Measuring time after warm-up."""
    warmup_s: float
    database_url: str | None = None
    """PostgreSQL for the server; None: SQLite in the head (one machine only)."""


@dataclass
class _Traffic:
    bytes: int = 0
    packets: int = 0


@dataclass
class _Counter:
    """The engine's listener in the benchmark: counts what reaches the head, then
    hands it on to the server's router."""

    router: WorkerRouter
    traffic: dict[str, _Traffic] = field(default_factory=dict)
    last_packet_at: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_packet(self, packet: FramePacket) -> None:
        size = len(packet.annotated_jpeg) + len(packet.raw_jpeg or b"")
        with self.lock:
            t = self.traffic.setdefault(packet.camera_id, _Traffic())
            t.bytes += size
            t.packets += 1
            self.last_packet_at[packet.camera_id] = time.time()
        self.router.on_packet(packet)

    def on_stats(self, stats: CameraStats) -> None:
        self.router.on_stats(stats)

    def on_event(self, event: CameraEvent) -> None:
        with self.lock:
            self.traffic.setdefault(event.event.camera_id, _Traffic()).bytes += len(
                event.snapshot_jpeg
            )
        self.router.on_event(event)

    def on_worker(self, report: WorkerReport) -> None:
        self.router.on_worker(report)

    def bytes_by_camera(self) -> dict[str, int]:
        with self.lock:
            return {c: t.bytes for c, t in self.traffic.items()}


def _cpu_seconds(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _node_pids(node: Any) -> list[int]:
    """Process ids of one Ray node's own processes (GCS, raylet, ...), started by `Cluster`."""
    pids = []
    for infos in getattr(node, "all_processes", {}).values():
        for info in infos:
            process = getattr(info, "process", None)
            if process is not None and process.poll() is None:
                pids.append(int(process.pid))
    return pids


def _sum_cpu(pids: list[int | None]) -> float:
    return sum(c for c in (_cpu_seconds(p) for p in pids) if c is not None)


def _video(settings: ClusterBenchSettings) -> Path:
    if settings.video is not None:
        return settings.video
    env = os.environ.get("FALLWATCH_DATA")
    bases = [Path(env)] if env else []
    bases.append(Path(__file__).resolve().parents[2].parent / "shared" / "data")
    for base in bases:
        if (base / "falls" / DEFAULT_CLIP).is_file():
            return base / "falls" / DEFAULT_CLIP
    raise ValueError(f"no --video given and {DEFAULT_CLIP} not found under $FALLWATCH_DATA/falls")


def _server(
    settings: ClusterBenchSettings, tmp: str, video: Path, ids: list[str], address: str
) -> FallwatchServer:
    from fallwatch.config.cluster import ClusterConfig
    from fallwatch.config.loader import parse_server_config
    from fallwatch.serve.app import FallwatchServer

    data: dict[str, Any] = {
        "data_dir": tmp,
        "cameras": [
            {"id": c, "path": str(video), "loop": True, "analysis_fps": settings.analysis_fps}
            for c in ids
        ],
    }
    if settings.database_url:
        data["database_url"] = settings.database_url
    config = parse_server_config(data, env={})
    cluster = ClusterConfig(engine="ray", address=address, cpus_per_camera=0.25)
    # Validation asks a cluster for PostgreSQL because real nodes are separate machines;
    # here every node is this machine and only the head touches the database.
    config = config.model_copy(update={"cluster": cluster})
    return FallwatchServer(config, env={})


def _wait(predicate: Any, timeout_s: float, what: str) -> float:
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout_s:
            raise RuntimeError(f"{what} did not happen within {timeout_s:.0f} s")
        time.sleep(0.2)
    return time.monotonic() - t0


def run_cluster_bench(settings: ClusterBenchSettings) -> int:
    """Run the benchmark and print its figures; 0."""
    from fallwatch.serve.ray_engine import import_ray

    if settings.nodes < 2 or settings.cameras < 1 or settings.seconds <= 0:
        raise ValueError("--nodes must be >= 2 (one is killed), --cameras >= 1, --seconds > 0")
    ray = import_ray()
    from ray.cluster_utils import Cluster

    video = _video(settings)
    ids = [f"cam-{i + 1}" for i in range(settings.cameras)]
    load_start = load_average_1min()
    print(
        f"bench-serve --engine ray: {settings.nodes} Ray node(s) + a head on this machine, "
        f"{settings.cameras} camera(s) playing {video.name} looping, analysis "
        f"{settings.analysis_fps:g} fps each"
    )
    cluster: Any = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False}
    )
    try:
        # Enough logical CPUs that the survivors can take a lost node's cameras.
        nodes = [cluster.add_node(num_cpus=settings.cameras) for _ in range(settings.nodes)]
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False)
        with tempfile.TemporaryDirectory(prefix="fallwatch-bench-") as tmp:
            _run(settings, cluster, nodes, tmp, video, ids, load_start)
    finally:
        ray.shutdown()
        cluster.shutdown()
    return 0


def _run(
    settings: ClusterBenchSettings,
    cluster: Any,
    nodes: list[Any],
    tmp: str,
    video: Path,
    ids: list[str],
    load_start: float | None,
) -> None:
    server = _server(settings, tmp, video, ids, cluster.address)
    engine: Any = server.supervisor
    counter = _Counter(server.router)
    engine.listener = counter
    server.migrate()
    server.start()
    try:
        t0 = time.time()
        _wait(
            lambda: all(counter.last_packet_at.get(c, 0) > t0 for c in ids),
            START_TIMEOUT_S,
            "every camera delivering frames",
        )
        print(f"warming up {settings.warmup_s:g} s, then measuring {settings.seconds:g} s ...")
        time.sleep(settings.warmup_s)
        _measure(settings, server, engine, counter, cluster, nodes, ids)
        _failover(engine, counter, cluster, nodes, ids)
    finally:
        server.stop()
    cores = os.cpu_count()
    print(
        f"machine: {cores} core(s), {cpu_model()}; load average {_fmt(load_start)} -> "
        f"{_fmt(load_average_1min())} (above {cores} means the nodes and other work "
        "competed for the same cores)"
    )


def _node_names(cluster: Any, nodes: list[Any]) -> dict[str | None, str]:
    names: dict[str | None, str] = {cluster.head_node.node_id: "head"}
    names.update({n.node_id: f"node-{i + 1}" for i, n in enumerate(nodes)})
    return names


def _measure(
    settings: ClusterBenchSettings,
    server: FallwatchServer,
    engine: Any,
    counter: _Counter,
    cluster: Any,
    nodes: list[Any],
    ids: list[str],
) -> None:
    head_pids: list[int | None] = list(_node_pids(cluster.head_node))
    actor_pids = {c: engine.pid(c) for c in ids}
    stats0 = {c: server.hub.stats(c) for c in ids}
    cpu0 = {c: _cpu_seconds(p) for c, p in actor_pids.items()}
    bytes0 = counter.bytes_by_camera()
    head0 = _sum_cpu(head_pids)
    main0 = time.process_time()
    t0 = time.monotonic()
    time.sleep(settings.seconds)
    elapsed = time.monotonic() - t0
    main_pct = (time.process_time() - main0) / elapsed * 100
    ray_head_pct = (_sum_cpu(head_pids) - head0) / elapsed * 100
    bytes1 = counter.bytes_by_camera()
    names = _node_names(cluster, nodes)
    placement = engine.placement()
    print("placement:")
    for node_id, name in names.items():
        cams = sorted(c for c in ids if placement.get(c) == node_id)
        print(
            f"  {name:<7} {node_id[:12] if node_id else '?':<12} {len(cams):>3} camera(s) {' '.join(cams)}"
        )
    header = f"{'camera':<8} {'node':<7} {'fps':>6} {'actor CPU %':>11} {'to head KB/s':>12}"
    print(header)
    print("-" * len(header))
    fps_all = []
    for c in ids:
        a, b = stats0[c], server.hub.stats(c)
        fps = (b.analysed - a.analysed) / elapsed if a is not None and b is not None else 0.0
        fps_all.append(fps)
        c0, c1 = cpu0[c], _cpu_seconds(actor_pids[c])
        cpu = (
            f"{(c1 - c0) / elapsed * 100:11.0f}"
            if c1 is not None and c0 is not None
            else " " * 8 + "n/a"
        )
        kbs = (bytes1.get(c, 0) - bytes0.get(c, 0)) / elapsed / 1024
        print(f"{c:<8} {names.get(placement.get(c), '?'):<7} {fps:6.2f} {cpu} {kbs:12.1f}")
    n = len(ids)
    total_kbs = sum(bytes1.get(c, 0) - bytes0.get(c, 0) for c in ids) / elapsed / 1024
    print(
        f"mean {sum(fps_all) / n:.2f} analysed fps per camera (target {settings.analysis_fps:g}); "
        f"{total_kbs:.0f} KB/s to the head in all"
    )
    print(
        f"head: server process {main_pct:.0f}% CPU ({main_pct / n:.1f}% per camera: pumps, "
        f"recorder, live hub); Ray head processes {ray_head_pct:.0f}% CPU"
    )


def _failover(
    engine: Any, counter: _Counter, cluster: Any, nodes: list[Any], ids: list[str]
) -> None:
    placement = engine.placement()
    victim = max(nodes, key=lambda n: sum(1 for c in ids if placement.get(c) == n.node_id))
    moved = [c for c in ids if placement.get(c) == victim.node_id]
    name = _node_names(cluster, nodes)[victim.node_id]
    print(f"failover: killing {name} ({len(moved)} camera(s): {' '.join(moved)}) ...")
    killed_at = time.time()
    cluster.remove_node(victim, allow_graceful=False)
    took_s = _wait(
        lambda: all(
            engine.placement().get(c) not in (None, victim.node_id)
            and counter.last_packet_at.get(c, 0) > killed_at
            for c in moved
        ),
        FAILOVER_TIMEOUT_S,
        "the lost node's cameras running elsewhere",
    )
    after = engine.placement()
    names = _node_names(cluster, nodes)
    where = ", ".join(f"{c} -> {names.get(after.get(c), '?')}" for c in moved)
    print(
        f"failover: {took_s:.1f} s from the kill until every camera of {name} delivered frames "
        f"again ({where}); Ray declares a node dead after missing its health checks "
        "(about 15 s by default), which is most of this"
    )


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"
