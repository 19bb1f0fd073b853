"""Turns a worker's `CameraEvent` into a stored event: snapshot, outbox, clip, announcement.

The snapshot is written and the event stored (with its alerts, in one transaction, by
the notify `Outbox`) as soon as the event arrives, so the alert is never held up by the
clip. The clip (pre_s before to post_s after, from the live ring buffer) is written when
the post_s frames have arrived, or when they stop coming (camera lost), on a separate
thread; the page shows "clip pending" until then.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from fallwatch.config.server import CameraConfig, RecordingConfig
from fallwatch.notify.outbox import Outbox
from fallwatch.pipeline.packets import CameraEvent, FramePacket
from fallwatch.serve.bus import EventChangedNotice, EventNewNotice, NoticeBus
from fallwatch.serve.live import ClipFrame, LiveHub
from fallwatch.serve.media import MediaStore
from fallwatch.types import EventKind

log = logging.getLogger(__name__)

CLIP_GIVE_UP_S = 10.0
"""Write a clip with what there is when no frame came this long after its end time."""


@dataclass
class _PendingClip:
    event_id: int
    camera_id: str
    path: Path
    until: float
    frames: list[ClipFrame] = field(default_factory=list)


class EventRecorder:
    def __init__(
        self,
        media: MediaStore,
        outbox: Outbox,
        hub: LiveHub,
        bus: NoticeBus,
        recording: RecordingConfig,
        camera_lookup: Callable[[str], CameraConfig | None],
        *,
        on_recorded: Callable[[CameraEvent, int | None], None] | None = None,
    ) -> None:
        self.media = media
        self.outbox = outbox
        self.hub = hub
        self.bus = bus
        self.recording = recording
        self.camera_lookup = camera_lookup
        self.on_recorded = on_recorded
        self._lock = threading.Lock()
        self._pending: list[_PendingClip] = []
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clip-writer")

    def on_event(self, camera_event: CameraEvent) -> int | None:
        """Store one event; returns its id (None: a recovery with no open event)."""
        event = camera_event.event
        camera = self.camera_lookup(event.camera_id)
        if event.kind is EventKind.RECOVERED:
            event_id = self.outbox.record(event)
            if event_id is not None:
                self.bus.publish(EventChangedNotice(event_id, event.camera_id))
        else:
            base = self.media.base_path(event.camera_id, camera_event.captured_at)
            snapshot = self.media.save_snapshot(base, camera_event.snapshot_jpeg)
            clip = self.media.clip_path(base)
            event_id = self.outbox.record(
                event,
                location=(camera.location or None) if camera else None,
                snapshot_path=snapshot,
                clip_path=clip,
            )
            assert event_id is not None
            pre = self.hub.recent(event.camera_id, camera_event.captured_at - self.recording.pre_s)
            with self._lock:
                self._pending.append(
                    _PendingClip(
                        event_id,
                        event.camera_id,
                        clip,
                        camera_event.captured_at + self.recording.post_s,
                        list(pre),
                    )
                )
            self.bus.publish(
                EventNewNotice(
                    id=event_id,
                    camera_id=event.camera_id,
                    camera_name=camera.label if camera else event.camera_id,
                    location=camera.location if camera else "",
                    event_kind=event.kind.value,
                    down_for_s=round(event.down_for_s, 1),
                )
            )
            log.warning(
                "camera %s: %s event %d recorded",
                event.camera_id,
                event.kind.value,
                event_id,
            )
        if self.on_recorded is not None:
            self.on_recorded(camera_event, event_id)
        return event_id

    def on_packet(self, packet: FramePacket) -> None:
        """Feed live frames to clips still collecting their 'after' part."""
        done = []
        with self._lock:
            for clip in self._pending:
                if clip.camera_id != packet.camera_id:
                    continue
                if not clip.frames or packet.captured_at > clip.frames[-1].captured_at:
                    clip.frames.append(ClipFrame(packet.captured_at, packet.annotated_jpeg))
                if packet.captured_at >= clip.until:
                    done.append(clip)
            for clip in done:
                self._pending.remove(clip)
        for clip in done:
            self._writer.submit(self._write, clip)

    def tick(self, now: float | None = None) -> None:
        """Finish clips whose camera stopped sending (called periodically)."""
        now = time.time() if now is None else now
        with self._lock:
            stale = [c for c in self._pending if now - c.until > CLIP_GIVE_UP_S]
            for clip in stale:
                self._pending.remove(clip)
        for clip in stale:
            self._writer.submit(self._write, clip)

    def _write(self, clip: _PendingClip) -> None:
        try:
            written = self.media.write_clip(clip.path, clip.frames)
        except Exception:
            log.exception("event %d: writing the clip failed", clip.event_id)
            return
        if written is not None:
            self.bus.publish(EventChangedNotice(clip.event_id, clip.camera_id, clip=True))

    def flush(self, timeout_s: float = 30.0) -> None:
        """Write every pending clip now with what it has (shutdown, tests)."""
        with self._lock:
            pending, self._pending = self._pending, []
        for clip in pending:
            self._writer.submit(self._write, clip)
        self._writer.shutdown(wait=True)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clip-writer")

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def __repr__(self) -> str:  # pragma: no cover
        return f"EventRecorder(pending={self.pending()})"
