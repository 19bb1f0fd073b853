"""Fans what the camera workers send out to the live hub, the event recorder and the bus.

The supervisor calls it from its pump and monitor threads; it keeps no state of its own
beyond what it hands on (the counters for /metrics).
"""

from __future__ import annotations

from fallwatch.pipeline.packets import CameraEvent, CameraStats, FramePacket
from fallwatch.serve.bus import CameraNotice, NoticeBus
from fallwatch.serve.counters import ServerCounters
from fallwatch.serve.live import LiveHub
from fallwatch.serve.recorder import EventRecorder
from fallwatch.serve.supervisor import WorkerReport


class WorkerRouter:
    """The supervisor's listener in `fallwatch serve`."""

    def __init__(
        self,
        hub: LiveHub,
        recorder: EventRecorder,
        bus: NoticeBus,
        counters: ServerCounters,
    ) -> None:
        self.hub = hub
        self.recorder = recorder
        self.bus = bus
        self.counters = counters

    def on_packet(self, packet: FramePacket) -> None:
        self.hub.put_packet(packet)
        self.recorder.on_packet(packet)

    def on_stats(self, stats: CameraStats) -> None:
        self.hub.put_stats(stats)

    def on_event(self, camera_event: CameraEvent) -> None:
        event = camera_event.event
        self.counters.count_event(event.camera_id, event.kind.value)
        self.recorder.on_event(camera_event)

    def on_worker(self, report: WorkerReport) -> None:
        previous = self.hub.worker(report.camera_id)
        if previous is not None and report.restarts > previous.restarts:
            self.counters.count_restarts(report.camera_id, report.restarts - previous.restarts)
        self.hub.put_worker(report)
        self.bus.publish(
            CameraNotice(report.camera_id, worker=report.state.value, message=report.message)
        )
