"""Benchmarks that print figures: per-stage frame timing and analyze-path speed.

`fallwatch bench` (`fallwatch.commands.bench`) is the entry point; the pieces are importable so a
test or a notebook can run one without the command line.
"""

from fallwatch.bench.analyze_bench import AnalyzeBench, ClipSpeed, ManifestSpeed
from fallwatch.bench.frame_bench import FrameBench, FrameBenchReport, LoopingVideo
from fallwatch.bench.machine import MachineInfo, describe_machine, peak_rss_mb
from fallwatch.bench.stats import StageStats
from fallwatch.bench.targets import Target

__all__ = [
    "AnalyzeBench",
    "ClipSpeed",
    "FrameBench",
    "FrameBenchReport",
    "LoopingVideo",
    "MachineInfo",
    "ManifestSpeed",
    "StageStats",
    "Target",
    "describe_machine",
    "peak_rss_mb",
]
