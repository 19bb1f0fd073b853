"""One event per person down, across restarts of a camera's worker.

A worker that restarts (a Ray actor whose node died, a crashed process) starts with a
fresh tracker and fall state machine. If someone was down when the old worker went, the
new one sees them lying there and raises `found_down` (or, replaying a file, `fall`)
again, under a new track id: without care, one person on the floor becomes two events
and two rounds of alerts. The store cannot tell: its dedupe (`find_open_event_for_track`)
keys on the track id, which the new worker does not share.

So both engines (`Supervisor`, `RayEngine`) number each camera's worker generations and passes every event through
`EventCarryOver`. An event a generation raised and did not see recovered is an *open
episode*. When a new generation starts, the open episodes of the old one become
*orphans*: the new generation's first fall or found-down on that camera within
`window_s` takes one over and is dropped as the same event; its track id is mapped to
the orphan's, so its `recovered` later closes the stored event. A fall after the window,
or a second person down while the orphans are taken, is a new event as usual. Track ids
that would collide with an open episode of an older generation are renumbered.

Events lost with the old worker (raised but not yet sent to the head) are not orphans:
the new generation raises them again, and they are recorded then.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from fallwatch.pipeline.packets import CameraEvent
from fallwatch.types import EventKind

log = logging.getLogger(__name__)

RESTART_GRACE_S = 30.0
"""Added to a camera's found_down_s: the new worker loads its model and reconnects first."""


@dataclass
class _Episode:
    generation: int
    track_id: int
    """The worker's own track id."""
    recorded_track_id: int
    """The track id the stored event carries."""
    orphaned_until: float | None = None
    """While an orphan: when it stops being claimable (monotonic seconds)."""


@dataclass
class _CameraEpisodes:
    episodes: list[_Episode] = field(default_factory=list)


class EventCarryOver:
    """Passes a camera's events on (`forward`) unless they repeat an orphaned episode."""

    def __init__(
        self,
        forward: Callable[[CameraEvent], None],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.forward = forward
        self.clock = clock
        self._cameras: dict[str, _CameraEpisodes] = {}
        self._lock = threading.Lock()
        self.carried = 0
        """Repeats taken as the open event they continue (not recorded again)."""

    def new_generation(self, camera_id: str, generation: int, window_s: float) -> None:
        """A new worker runs for the camera: the open episodes of older ones become
        orphans that its repeats may claim for `window_s` seconds."""
        until = self.clock() + window_s
        with self._lock:
            cam = self._cameras.setdefault(camera_id, _CameraEpisodes())
            for ep in cam.episodes:
                if ep.generation < generation and ep.orphaned_until is None:
                    ep.orphaned_until = until

    def forget(self, camera_id: str) -> None:
        """The camera was removed or reconfigured: its episodes are over."""
        with self._lock:
            self._cameras.pop(camera_id, None)

    def open_episodes(self, camera_id: str) -> int:
        with self._lock:
            cam = self._cameras.get(camera_id)
            return 0 if cam is None else len(cam.episodes)

    def on_event(self, generation: int, camera_event: CameraEvent) -> None:
        out = self._carry(generation, camera_event)
        if out is not None:
            self.forward(out)

    def _carry(self, generation: int, camera_event: CameraEvent) -> CameraEvent | None:
        event = camera_event.event
        with self._lock:
            cam = self._cameras.setdefault(event.camera_id, _CameraEpisodes())
            # Orphans nobody claimed in time: their events stay open for the operator.
            cam.episodes = [e for e in cam.episodes if not self._expired(e)]
            episodes = cam.episodes
            mine = next(
                (
                    e
                    for e in episodes
                    if e.generation == generation and e.track_id == event.track_id
                ),
                None,
            )
            if event.kind is EventKind.RECOVERED:
                if mine is None:
                    return camera_event
                episodes.remove(mine)
                return self._as(camera_event, mine.recorded_track_id)
            if mine is not None:  # the same worker's second event for one episode
                return self._as(camera_event, mine.recorded_track_id)
            orphan = self._claimable(episodes, generation)
            if orphan is not None:
                episodes.remove(orphan)
                episodes.append(_Episode(generation, event.track_id, orphan.recorded_track_id))
                self.carried += 1
                log.info(
                    "camera %s: %s of person %d after a worker restart continues the open "
                    "event of person %d; not recorded again",
                    event.camera_id,
                    event.kind.value,
                    event.track_id,
                    orphan.recorded_track_id,
                )
                return None
            taken = {e.recorded_track_id for e in episodes}
            recorded = event.track_id
            if recorded in taken:
                recorded = max(taken | {event.track_id}) + 1
            episodes.append(_Episode(generation, event.track_id, recorded))
            return self._as(camera_event, recorded)

    def _claimable(self, episodes: list[_Episode], generation: int) -> _Episode | None:
        for ep in episodes:
            if ep.generation < generation and ep.orphaned_until is not None:
                return ep
        return None

    def _expired(self, ep: _Episode) -> bool:
        return ep.orphaned_until is not None and self.clock() > ep.orphaned_until

    @staticmethod
    def _as(camera_event: CameraEvent, track_id: int) -> CameraEvent:
        if camera_event.event.track_id == track_id:
            return camera_event
        return replace(camera_event, event=replace(camera_event.event, track_id=track_id))
