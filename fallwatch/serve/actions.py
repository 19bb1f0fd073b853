"""Operator actions on an event: acknowledge and resolve, through the notify outbox
(which cancels or sends the follow-up alerts), then announced on the notice bus."""

from __future__ import annotations

from fallwatch.notify.outbox import Outbox
from fallwatch.serve.bus import EventChangedNotice, NoticeBus
from fallwatch.serve.reads import EventReader
from fallwatch.store.events import EventRow


class EventActions:
    def __init__(self, outbox: Outbox, events: EventReader, bus: NoticeBus) -> None:
        self.outbox = outbox
        self.events = events
        self.bus = bus

    def acknowledge(self, event_id: int, *, by: str, note: str | None = None) -> EventRow:
        self.outbox.acknowledge(event_id, by=by, note=note)
        return self._changed(event_id)

    def resolve(self, event_id: int, *, by: str, note: str | None = None) -> EventRow:
        self.outbox.resolve(event_id, by=by, note=note)
        return self._changed(event_id)

    def _changed(self, event_id: int) -> EventRow:
        row = self.events.read(event_id)
        self.bus.publish(EventChangedNotice(event_id, row.camera_id, state=row.state.value))
        return row
