"""Prometheus metrics, read from the live hub at scrape time (nothing to keep in sync)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from fallwatch.sources.capture import ConnectionState

if TYPE_CHECKING:
    from fallwatch.app import FallwatchServer


class ServerCollector(Collector):
    def __init__(self, server: FallwatchServer) -> None:
        self.server = server

    def collect(self) -> Iterator[Metric]:
        server = self.server
        stats = server.hub.all_stats()
        fps = GaugeMetricFamily(
            "fallwatch_camera_analysis_fps",
            "Frames analysed per second.",
            labels=["camera"],
        )
        src = GaugeMetricFamily(
            "fallwatch_camera_source_fps",
            "Frames per second read from the source.",
            labels=["camera"],
        )
        infer = GaugeMetricFamily(
            "fallwatch_camera_inference_ms",
            "Detector time of the last frame, ms.",
            labels=["camera"],
        )
        latency = GaugeMetricFamily(
            "fallwatch_camera_latency_ms",
            "Capture to annotated frame, last frame, ms.",
            labels=["camera"],
        )
        dropped = CounterMetricFamily(
            "fallwatch_camera_dropped_frames",
            "Frames read but not analysed (since the worker started).",
            labels=["camera"],
        )
        reconnects = CounterMetricFamily(
            "fallwatch_camera_reconnects",
            "Stream reconnections (since the worker started).",
            labels=["camera"],
        )
        connected = GaugeMetricFamily(
            "fallwatch_camera_connected",
            "1 when the source delivers frames.",
            labels=["camera"],
        )
        for cam, s in sorted(stats.items()):
            fps.add_metric([cam], s.analysis_fps)
            src.add_metric([cam], s.source_fps)
            infer.add_metric([cam], s.inference_ms)
            latency.add_metric([cam], s.latency_ms)
            dropped.add_metric([cam], s.dropped)
            reconnects.add_metric([cam], s.reconnects)
            connected.add_metric(
                [cam], 1.0 if s.connection is ConnectionState.CONNECTED else 0.0
            )
        yield from (fps, src, infer, latency, dropped, reconnects, connected)
        restarts = CounterMetricFamily(
            "fallwatch_worker_restarts",
            "Worker restarts after a crash or stall.",
            labels=["camera"],
        )
        with server._counts_lock:
            restart_counts = dict(server.restart_counts)
            event_counts = dict(server.event_counts)
        for cam, n in sorted(restart_counts.items()):
            restarts.add_metric([cam], n)
        yield restarts
        alerts = CounterMetricFamily(
            "fallwatch_events",
            "Events raised by the fall classifier (since start).",
            labels=["camera", "kind"],
        )
        for (cam, kind), n in sorted(event_counts.items()):
            alerts.add_metric([cam, kind], n)
        yield alerts


def build_registry(server: FallwatchServer) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServerCollector(server))
    return registry
