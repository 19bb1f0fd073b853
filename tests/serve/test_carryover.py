"""A restarted camera worker repeating an open event: one stored event, not two."""

from __future__ import annotations

from pathlib import Path

from fallwatch.pipeline.packets import CameraEvent
from fallwatch.serve.carryover import EventCarryOver
from fallwatch.store import events as events_repo
from fallwatch.types import EventKind
from tests.fakes.web import fall_event, make_server


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _carry() -> tuple[EventCarryOver, list[CameraEvent], _Clock]:
    out: list[CameraEvent] = []
    clock = _Clock()
    return EventCarryOver(out.append, clock=clock), out, clock


def _kinds(out: list[CameraEvent]) -> list[tuple[str, int]]:
    return [(e.event.kind.value, e.event.track_id) for e in out]


def test_a_repeat_after_a_restart_continues_the_open_event() -> None:
    carry, out, _ = _carry()
    carry.new_generation("cam", 1, window_s=90)
    carry.on_event(1, fall_event("cam", track_id=4))
    carry.new_generation("cam", 2, window_s=90)  # the actor restarted; person 4 still down
    carry.on_event(2, fall_event("cam", track_id=1, kind=EventKind.FOUND_DOWN))
    assert _kinds(out) == [("fall", 4)], "the new worker's found-down is the same event"
    carry.on_event(2, fall_event("cam", track_id=1, kind=EventKind.RECOVERED))
    assert _kinds(out) == [("fall", 4), ("recovered", 4)], "recovery closes the stored event"
    assert carry.open_episodes("cam") == 0


def test_after_the_window_or_once_taken_a_fall_is_a_new_event() -> None:
    carry, out, clock = _carry()
    carry.new_generation("cam", 1, window_s=90)
    carry.on_event(1, fall_event("cam", track_id=1))
    carry.new_generation("cam", 2, window_s=90)
    carry.on_event(2, fall_event("cam", track_id=1))  # takes the orphan
    carry.on_event(2, fall_event("cam", track_id=2))  # a second person: new
    assert _kinds(out) == [("fall", 1), ("fall", 2)]
    carry.new_generation("cam", 3, window_s=90)
    clock.now += 91  # nobody repeated the orphans in time: they stay open for the operator
    carry.on_event(3, fall_event("cam", track_id=7))
    assert _kinds(out)[-1] == ("fall", 7)


def test_track_ids_of_a_new_worker_never_collide_with_open_events() -> None:
    carry, out, clock = _carry()
    carry.new_generation("cam", 1, window_s=10)
    carry.on_event(1, fall_event("cam", track_id=1))
    carry.new_generation("cam", 2, window_s=10)
    clock.now += 11  # orphan expired, but its event (person 1) is still open in the store
    carry.on_event(2, fall_event("cam", track_id=3))
    carry.on_event(2, fall_event("cam", track_id=3, kind=EventKind.RECOVERED))
    assert _kinds(out) == [("fall", 1), ("fall", 3), ("recovered", 3)]
    other, out2, _ = _carry()
    other.new_generation("cam", 1, window_s=10)
    other.on_event(1, fall_event("cam", track_id=1))
    other.new_generation("cam", 2, window_s=10)
    other.on_event(2, fall_event("cam", track_id=5))  # takes person 1's event
    other.on_event(2, fall_event("cam", track_id=1))  # new tracker's person 1: someone else
    assert _kinds(out2) == [("fall", 1), ("fall", 2)], "renumbered: 1 is the open event"


def test_other_cameras_and_the_same_worker_pass_through() -> None:
    carry, out, _ = _carry()
    carry.new_generation("a", 1, window_s=90)
    carry.new_generation("b", 1, window_s=90)
    carry.on_event(1, fall_event("a", track_id=1))
    carry.new_generation("a", 2, window_s=90)
    carry.on_event(1, fall_event("b", track_id=1))
    carry.on_event(1, fall_event("b", track_id=2))
    assert _kinds(out) == [("fall", 1), ("fall", 1), ("fall", 2)]


def test_stored_events_one_per_person_down_across_a_restart(tmp_path: Path) -> None:
    """Through the server's real recorder and store: the store alone would keep both."""
    server = make_server(tmp_path, cameras=[{"id": "cam", "url": "rtsp://10.0.0.9/s1"}])
    server.start(run_workers=False)
    try:
        carry = EventCarryOver(server.router.on_event)
        carry.new_generation("cam", 1, window_s=90)
        carry.on_event(1, fall_event("cam", track_id=2))
        carry.new_generation("cam", 2, window_s=90)
        carry.on_event(2, fall_event("cam", track_id=1, kind=EventKind.FOUND_DOWN))
        carry.on_event(2, fall_event("cam", track_id=1, kind=EventKind.RECOVERED))
        with server.sessions() as session:
            rows = events_repo.list_events(session)
        assert len(rows) == 1 and rows[0].track_id == 2
        assert rows[0].recovered_at is not None, "the new worker's recovery reached it"

        # Without the carry-over the same messages make a second event.
        server.router.on_event(fall_event("cam", track_id=1, kind=EventKind.FOUND_DOWN))
        with server.sessions() as session:
            assert len(events_repo.list_events(session)) == 2
    finally:
        server.stop()


def test_local_supervisor_records_a_crashing_workers_repeats_once(tmp_path: Path) -> None:
    """Worker processes that raise the same fall and crash, three generations: one event."""
    from fallwatch.config.server import CameraConfig, WorkersConfig
    from fallwatch.serve.supervisor import Supervisor
    from tests.fakes import worker as worker_fakes
    from tests.fakes.worker import RecordingListener, wait_for

    listener = RecordingListener()
    sup = Supervisor(
        WorkersConfig(restart_backoff_max_s=0.5),
        listener,
        target=worker_fakes.fall_then_crash,  # type: ignore[arg-type]
        poll_s=0.1,
    )
    sup.set_camera(CameraConfig(id="cam", path=tmp_path / "none.mp4"))
    sup.start()
    try:
        assert wait_for(lambda: (r := sup.report("cam")) is not None and r.restarts >= 2, 30.0)
        assert wait_for(lambda: sup.carry.carried >= 2, 10.0), listener.messages("cam")
    finally:
        sup.stop()
    assert len(listener.events) == 1, "one person down, one event, however many restarts"
