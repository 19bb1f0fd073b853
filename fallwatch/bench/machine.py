"""What the figures were taken on: cores, CPU model, load, library versions, peak memory."""

from __future__ import annotations

import os
import platform
import resource
import sys
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import cv2

import fallwatch

LIBRARIES = (
    "numpy",
    "opencv-python-headless",
    "opencv-python",
    "ai-edge-litert",
    "onnxruntime",
    "pydantic",
)
"""Distributions whose versions change the figures; those not installed are left out."""


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (1 MB = 2**20 bytes).

    From `getrusage`, which the kernel keeps for free: no tracing on the hot path. It is
    the whole process's high-water mark (interpreter, imports, model load included),
    which is what a memory budget for a camera worker has to cover.
    """
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    peak_bytes = peak if sys.platform == "darwin" else peak * 1024
    return peak_bytes / 2**20


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo, else what `platform` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                return value.strip()
    return platform.processor() or platform.machine() or "unknown"


def load_average_1min() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "fallwatch": fallwatch.__version__}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    versions["cv2"] = cv2.__version__
    return versions


@dataclass(frozen=True)
class MachineInfo:
    cpu_model: str
    cores: int
    """Logical CPUs in the machine."""
    usable_cores: int
    """Logical CPUs this process may run on (affinity, cgroup cpusets)."""
    opencv_threads: int
    platform: str
    load_1min_start: float | None
    """1-minute load average when the run began: above `usable_cores` means other work
    competed for the CPU and the timings are inflated."""
    load_1min_end: float | None = None
    libraries: dict[str, str] = field(default_factory=dict)

    @property
    def busy(self) -> bool:
        loads = [x for x in (self.load_1min_start, self.load_1min_end) if x is not None]
        # Our own run adds about one core of load; more than half the rest means sharing.
        return any(x > 1.0 + 0.5 * max(self.usable_cores - 1, 1) for x in loads)

    def with_end_load(self) -> MachineInfo:
        return MachineInfo(**{**asdict(self), "load_1min_end": load_average_1min()})

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "busy": self.busy}


def describe_machine() -> MachineInfo:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    return MachineInfo(
        cpu_model=cpu_model(),
        cores=os.cpu_count() or 1,
        usable_cores=usable,
        opencv_threads=cv2.getNumThreads(),
        platform=platform.platform(),
        load_1min_start=load_average_1min(),
        libraries=library_versions(),
    )


def render_machine(machine: MachineInfo) -> str:
    """The machine, its load and library versions, as the bench printouts end."""
    loads = [f"{x:.2f}" for x in (machine.load_1min_start, machine.load_1min_end) if x is not None]
    libs = ", ".join(f"{k} {v}" for k, v in machine.libraries.items())
    line = (
        f"machine: {machine.cpu_model}, {machine.cores} cores ({machine.usable_cores} usable), "
        f"OpenCV threads {machine.opencv_threads}, load average {' -> '.join(loads) or 'unknown'}"
    )
    if machine.busy:
        line += "\n  NOTE: the machine was busy with other work: these timings are inflated; take final figures on an idle machine"
    return line + f"\nlibraries: {libs}"
