"""Prometheus metrics, read from the live hub and the server's counters at scrape time
(nothing to keep in sync)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from fallwatch.serve.counters import ServerCounters
from fallwatch.serve.live import LiveHub
from fallwatch.sources.capture import ConnectionState


class ServerCollector(Collector):
    def __init__(self, hub: LiveHub, counters: ServerCounters) -> None:
        self.hub = hub
        self.counters = counters

    def collect(self) -> Iterator[Metric]:
        stats = self.hub.all_stats()
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
        stalls = CounterMetricFamily(
            "fallwatch_camera_stalls",
            "Times the source sent no decodable frame for read_timeout_s (since the worker "
            "started).",
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
            stalls.add_metric([cam], s.stalls)
            connected.add_metric([cam], 1.0 if s.connection is ConnectionState.CONNECTED else 0.0)
        yield from (fps, src, infer, latency, dropped, reconnects, stalls, connected)
        restarts = CounterMetricFamily(
            "fallwatch_worker_restarts",
            "Worker restarts after a crash or stall.",
            labels=["camera"],
        )
        counts = self.counters.snapshot()
        for cam, n in sorted(counts.restarts.items()):
            restarts.add_metric([cam], n)
        yield restarts
        alerts = CounterMetricFamily(
            "fallwatch_events",
            "Events raised by the fall classifier (since start).",
            labels=["camera", "kind"],
        )
        for (cam, kind), n in sorted(counts.events.items()):
            alerts.add_metric([cam, kind], n)
        yield alerts
        failed = CounterMetricFamily(
            "fallwatch_alerts_failed",
            "Alerts marked failed for good: refused, or out of retry attempts or age "
            "(since start).",
            labels=["channel"],
        )
        for channel, n in sorted(counts.alerts_failed.items()):
            failed.add_metric([channel], n)
        yield failed
        logins = CounterMetricFamily(
            "fallwatch_login_failures",
            "Failed logins by reason (wrong_password, unknown_user, disabled, throttled, busy).",
            labels=["reason"],
        )
        for reason, n in sorted(counts.login_failures.items()):
            logins.add_metric([reason], n)
        yield logins


def build_registry(hub: LiveHub, counters: ServerCounters) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServerCollector(hub, counters))
    return registry
