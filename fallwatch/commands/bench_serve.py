"""`fallwatch bench-serve`: the whole server under load (see `fallwatch.bench.serve_bench`).

This command wires the web app into the benchmark, so the benchmark itself does not
depend on the web layer.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fallwatch.bench.serve_bench import DEFAULT_CLIP, ServeBenchSettings, run_serve_bench

EXTRA = "server"
"""The optional dependencies this command needs (`pip install 'fallwatch[server]'`)."""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "bench-serve",
        help="Benchmark the server: N looping file cameras, V MJPEG viewers; per-camera fps, drops, latency, CPU.",
    )
    p.add_argument("--cameras", type=int, default=4, help="File cameras to run (default 4).")
    p.add_argument(
        "--viewers",
        type=int,
        default=None,
        help="MJPEG viewers, each watching every camera (default 2; 0 with --mix).",
    )
    p.add_argument(
        "--video",
        type=Path,
        default=None,
        help=f"Clip to play (default: $FALLWATCH_DATA/falls/{DEFAULT_CLIP}).",
    )
    p.add_argument(
        "--analysis-fps",
        type=float,
        default=5.0,
        help="Analysis rate per camera (default 5).",
    )
    p.add_argument(
        "--seconds",
        "--duration-s",
        dest="seconds",
        type=float,
        default=30.0,
        help="Measuring time after warm-up (default 30).",
    )
    p.add_argument(
        "--warmup-s",
        type=float,
        default=10.0,
        help="Seconds after every camera runs before measuring.",
    )
    _add_cluster_options(p)
    _add_mix_options(p)
    p.set_defaults(handler=run)


def _add_cluster_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: worker processes (default). ray: camera actors on a local Ray cluster "
        "of --nodes nodes; prints placement, per-camera fps, CPU and traffic to the head, "
        "the head's CPU and the failover time after a node is killed (needs fallwatch[ray]).",
    )
    p.add_argument(
        "--nodes",
        type=int,
        default=3,
        help="Ray worker nodes started on this machine with --engine ray (default 3).",
    )
    p.add_argument(
        "--database-url",
        default=None,
        help="With --engine ray: the server's PostgreSQL URL (default: SQLite in the head).",
    )


def _add_mix_options(p: argparse.ArgumentParser) -> None:
    mix = p.add_argument_group(
        "control-room mix (--mix)",
        "Most cameras show an empty room, some a person walking, a few a looped fall; "
        "per camera: time at full rate, analysed fps at full and idle rate, frames read "
        "and dropped, CPU, and the alert delay of the fall cameras.",
    )
    mix.add_argument("--mix", action="store_true", help="Run the control-room mix.")
    mix.add_argument(
        "--empty-share",
        type=float,
        default=0.67,
        help="Share of the cameras showing an empty room (default 0.67).",
    )
    mix.add_argument(
        "--fall-cameras",
        type=int,
        default=2,
        help="Cameras looping a fall (default 2); the rest of the non-empty ones walk.",
    )
    mix.add_argument(
        "--idle-fps",
        type=float,
        default=1.0,
        help="Analysis rate of a camera with no motion and nobody in view (default 1).",
    )


def run(args: argparse.Namespace) -> int:
    if args.engine == "ray":
        from fallwatch.bench.cluster_bench import ClusterBenchSettings, run_cluster_bench

        return run_cluster_bench(
            ClusterBenchSettings(
                nodes=args.nodes,
                cameras=args.cameras,
                video=args.video,
                analysis_fps=args.analysis_fps,
                seconds=args.seconds,
                warmup_s=args.warmup_s,
                database_url=args.database_url,
            )
        )
    from fallwatch.web.app import create_app

    if args.mix:
        return _run_mix(args)
    settings = ServeBenchSettings(
        cameras=args.cameras,
        viewers=2 if args.viewers is None else args.viewers,
        video=args.video,
        analysis_fps=args.analysis_fps,
        seconds=args.seconds,
        warmup_s=args.warmup_s,
    )
    return run_serve_bench(settings, create_app)


def _run_mix(args: argparse.Namespace) -> int:
    from fallwatch.bench.mix_bench import MixSettings, run_mix_bench
    from fallwatch.web.app import create_app

    settings = MixSettings(
        cameras=args.cameras,
        empty_share=args.empty_share,
        fall_cameras=args.fall_cameras,
        analysis_fps=args.analysis_fps,
        idle_fps=args.idle_fps,
        seconds=args.seconds,
        warmup_s=args.warmup_s,
        viewers=0 if args.viewers is None else args.viewers,
    )
    return run_mix_bench(settings, create_app)
