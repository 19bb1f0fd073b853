"""Prometheus metrics, read from the live hub and the server's counters at scrape time
(nothing to keep in sync)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from fallwatch.pipeline.packets import CameraStats
from fallwatch.serve.counters import CountsSnapshot, ServerCounters
from fallwatch.serve.live import LiveHub
from fallwatch.sources.capture import ConnectionState

_Family = type[GaugeMetricFamily] | type[CounterMetricFamily]

CAMERA_METRICS: tuple[tuple[_Family, str, str, Callable[[CameraStats], float]], ...] = (
    (
        GaugeMetricFamily,
        "fallwatch_camera_analysis_fps",
        "Frames analysed per second.",
        lambda s: s.analysis_fps,
    ),
    (
        GaugeMetricFamily,
        "fallwatch_camera_source_fps",
        "Frames per second read from the source.",
        lambda s: s.source_fps,
    ),
    (
        GaugeMetricFamily,
        "fallwatch_camera_inference_ms",
        "Detector time of the last frame, ms.",
        lambda s: s.inference_ms,
    ),
    (
        GaugeMetricFamily,
        "fallwatch_camera_latency_ms",
        "Capture to annotated frame, last frame, ms.",
        lambda s: s.latency_ms,
    ),
    (
        CounterMetricFamily,
        "fallwatch_camera_dropped_frames",
        "Frames read but not analysed (since the worker started).",
        lambda s: s.dropped,
    ),
    (
        CounterMetricFamily,
        "fallwatch_camera_reconnects",
        "Stream reconnections (since the worker started).",
        lambda s: s.reconnects,
    ),
    (
        CounterMetricFamily,
        "fallwatch_camera_stalls",
        "Times the source sent no decodable frame for read_timeout_s (since the worker started).",
        lambda s: s.stalls,
    ),
    (
        GaugeMetricFamily,
        "fallwatch_camera_connected",
        "1 when the source delivers frames.",
        lambda s: 1.0 if s.connection is ConnectionState.CONNECTED else 0.0,
    ),
    (
        GaugeMetricFamily,
        "fallwatch_camera_idle",
        "1 while the motion gate holds the camera at its idle_fps (no motion, nobody in view).",
        lambda s: 1.0 if s.rate_mode == "idle" else 0.0,
    ),
)
"""Per camera, from the workers' latest figures: (kind, name, help, value)."""

COUNTER_METRICS: tuple[
    tuple[str, str, list[str], Callable[[CountsSnapshot], Mapping[Any, int]]], ...
] = (
    (
        "fallwatch_worker_restarts",
        "Worker restarts after a crash or stall.",
        ["camera"],
        lambda c: c.restarts,
    ),
    (
        "fallwatch_events",
        "Events raised by the fall classifier (since start).",
        ["camera", "kind"],
        lambda c: c.events,
    ),
    (
        "fallwatch_alerts_failed",
        "Alerts marked failed for good: refused, or out of retry attempts or age (since start).",
        ["channel"],
        lambda c: c.alerts_failed,
    ),
    (
        "fallwatch_login_failures",
        "Failed logins by reason (wrong_password, unknown_user, disabled, throttled, busy).",
        ["reason"],
        lambda c: c.login_failures,
    ),
)
"""Since the server started, from its counters: (name, help, labels, counts)."""


class ServerCollector(Collector):
    def __init__(self, hub: LiveHub, counters: ServerCounters) -> None:
        self.hub = hub
        self.counters = counters

    def collect(self) -> Iterator[Metric]:
        stats = sorted(self.hub.all_stats().items())
        for family, name, doc, value in CAMERA_METRICS:
            metric = family(name, doc, labels=["camera"])
            for cam, s in stats:
                metric.add_metric([cam], value(s))
            yield metric
        yield _rate_reasons(stats)
        counts = self.counters.snapshot()
        for name, doc, labels, read in COUNTER_METRICS:
            counter = CounterMetricFamily(name, doc, labels=labels)
            for key, n in sorted(read(counts).items()):
                counter.add_metric(list(key) if isinstance(key, tuple) else [key], n)
            yield counter


def _rate_reasons(stats: list[tuple[str, CameraStats]]) -> Metric:
    """Why each camera runs at its rate, as a label: one series per camera, value 1."""
    metric = GaugeMetricFamily(
        "fallwatch_camera_rate_info",
        "The motion gate's current pick: mode (full or idle) and reason (person down, "
        "person in view, motion, no motion, gating off); always 1.",
        labels=["camera", "mode", "reason"],
    )
    for cam, s in stats:
        metric.add_metric([cam, s.rate_mode, s.rate_reason], 1.0)
    return metric


def build_registry(hub: LiveHub, counters: ServerCounters) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServerCollector(hub, counters))
    return registry
