"""`DownEpisodes`: each stay on the ground, from the classifier's per-frame statuses."""

from __future__ import annotations

from fallwatch.pipeline.video_analysis import DownEpisode, DownEpisodes
from fallwatch.types import EventKind, FallEvent, FallState, FallUpdate, TrackStatus


def status(track_id: int, down_for_s: float, state: FallState = FallState.DOWN) -> TrackStatus:
    return TrackStatus(track_id, state, 0.9, 1.0 if down_for_s else 0.0, down_for_s)


def fall(track_id: int, t_s: float, down_from_s: float) -> FallEvent:
    return FallEvent(
        kind=EventKind.FALL,
        camera_id="cam",
        track_id=track_id,
        t_s=t_s,
        down_from_s=down_from_s,
        fall_seen_s=down_from_s - 0.5,
        xyxy=(0.0, 0.0, 10.0, 10.0),
        down_score=0.9,
    )


def test_two_people_down_and_one_down_twice() -> None:
    log = DownEpisodes()
    frames = [
        (1.0, [status(1, 0.0), status(2, 0.0)]),
        (2.0, [status(1, 0.5), status(2, 0.0)]),  # 1 down from 1.5
        (3.0, [status(1, 1.5), status(2, 0.25)]),  # 2 down from 2.75
        (4.0, [status(1, 0.0), status(2, 1.25, FallState.ALERTED)]),  # 1 up again
        (5.0, [status(1, 0.5)]),  # 1 down again from 4.5; 2 lost
    ]
    for t, tracks in frames:
        log.update(t, FallUpdate(tracks=tracks))
    assert log.episodes == [
        DownEpisode(track_id=1, start_s=1.5, down_for_s=1.5),
        DownEpisode(track_id=2, start_s=2.75, down_for_s=1.25, alerted=True),
        DownEpisode(track_id=1, start_s=4.5, down_for_s=0.5),
    ]


def test_an_alert_event_marks_its_episode_even_before_the_state_says_so() -> None:
    log = DownEpisodes()
    log.update(2.0, FallUpdate(tracks=[status(7, 1.0)]))
    log.update(3.0, FallUpdate(events=[fall(7, 3.0, 1.0)], tracks=[status(7, 2.0)]))
    assert [(e.start_s, e.down_for_s, e.alerted) for e in log.episodes] == [(1.0, 2.0, True)]
