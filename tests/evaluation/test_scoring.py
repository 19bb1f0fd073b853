from __future__ import annotations

import pytest

from fallwatch.evaluation.scoring import Confusion, down_window_s, score_clip, summarize
from tests.fakes.evaluation import make_label

# Fall label used below unless a row says otherwise: down from 3 s until the end (10 s clip).
FALL = {"down_from_s": 3.0, "down_until_s": "end"}


@pytest.mark.parametrize(
    ("label", "duration_s", "window"),
    [
        (FALL, 10.0, (2.0, 11.0)),  # "end" = the clip's duration, +-1 s
        ({"down_from_s": 3.0, "down_until_s": 6.0}, 10.0, (2.0, 7.0)),  # got up at 6 s
        ({"down_from_s": 0.5, "down_until_s": "end"}, 4.0, (-0.5, 5.0)),
        ({"fall": False}, 10.0, None),
        ({"fall": False, "hard_negative": True}, 10.0, None),
    ],
)
def test_down_window(label: dict, duration_s: float, window: tuple | None) -> None:
    assert down_window_s(make_label(**label), duration_s) == window


@pytest.mark.parametrize(
    ("label", "alerts_s", "matched", "delay_s", "false_alarms_s", "verdict"),
    [
        # fall clips: window [2, 11]
        (FALL, [5.0], True, 2.0, [], "hit"),
        (FALL, [], False, None, [], "missed"),
        (FALL, [2.0], True, -1.0, [], "hit"),  # the window edges are inside
        (FALL, [11.0], True, 8.0, [], "hit"),
        (
            FALL,
            [1.99],
            False,
            None,
            [1.99],
            "missed+false-alarm",
        ),  # before the person is down
        (FALL, [11.5], False, None, [11.5], "missed+false-alarm"),
        (
            FALL,
            [1.0, 4.0, 6.0],
            True,
            1.0,
            [1.0],
            "hit+false-alarm",
        ),  # first in-window counts
        (FALL, [6.0, 4.0], True, 1.0, [], "hit"),  # order of alerts does not matter
        # got up at 6 s: window [2, 7]; an alert after getting up is a false alarm
        (
            {"down_from_s": 3.0, "down_until_s": 6.0},
            [4.0, 9.0],
            True,
            1.0,
            [9.0],
            "hit+false-alarm",
        ),
        (
            {"down_from_s": 3.0, "down_until_s": 6.0},
            [7.5],
            False,
            None,
            [7.5],
            "missed+false-alarm",
        ),
        # no-fall clips: every alert is a false alarm
        ({"fall": False}, [], False, None, [], "quiet"),
        ({"fall": False}, [3.0, 8.0], False, None, [3.0, 8.0], "false-alarm"),
        (
            {"fall": False, "hard_negative": True},
            [3.0],
            False,
            None,
            [3.0],
            "false-alarm",
        ),
    ],
)
def test_score_clip(
    label: dict,
    alerts_s: list[float],
    matched: bool,
    delay_s: float | None,
    false_alarms_s: list[float],
    verdict: str,
) -> None:
    out = score_clip(alerts_s, make_label(**label), duration_s=10.0)
    assert out.matched is matched
    assert out.delay_s == pytest.approx(delay_s) if delay_s is not None else out.delay_s is None
    assert list(out.false_alarms_s) == false_alarms_s
    assert out.false_alarm is bool(false_alarms_s)
    assert out.verdict == verdict


def test_end_follows_the_duration_given() -> None:
    # The same alert is a hit in a 10 s clip and a false alarm in a 5 s one.
    assert score_clip([8.0], make_label(**FALL), duration_s=10.0).matched
    assert not score_clip([8.0], make_label(**FALL), duration_s=5.0).matched


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"duration_s": -1.0}, "duration_s must be >= 0"),
        ({"tolerance_s": -0.1}, "tolerance_s"),
    ],
)
def test_score_clip_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    args = {"duration_s": 10.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        score_clip([], make_label(), **args)


def test_summarize_counts_each_kind_of_clip() -> None:
    outcomes = [
        score_clip([4.0], make_label(**FALL), 10.0),  # hit, delay 1
        score_clip([1.0, 6.0], make_label(**FALL), 10.0),  # hit, delay 3, 1 false alarm
        score_clip([], make_label(**FALL), 10.0),  # missed
        score_clip([], make_label(fall=False), 20.0),  # quiet
        score_clip([5.0, 9.0], make_label(fall=False), 20.0),  # 2 false alarms
        score_clip([], make_label(fall=False, hard_negative=True), 10.0),
        score_clip([2.0], make_label(fall=False, hard_negative=True), 10.0),
    ]
    t = summarize(outcomes)
    assert (t.clips, t.fall_clips, t.falls_alerted) == (7, 3, 2)
    assert t.fall_recall == pytest.approx(2 / 3)
    assert (t.no_fall_clips, t.no_fall_clips_alerted) == (4, 2)
    assert (t.hard_negative_clips, t.hard_negatives_alerted) == (2, 1)
    assert (t.false_alarms, t.false_alarms_on_fall_clips, t.false_alarm_clips) == (
        4,
        1,
        3,
    )
    assert (t.delay_median_s, t.delay_max_s) == (2.0, 3.0)
    assert t.video_s == 90.0
    assert t.false_alarms_per_hour == pytest.approx(4 / (90 / 3600))


def test_summarize_nothing() -> None:
    t = summarize([])
    assert t.clips == 0
    assert t.fall_recall is None and t.delay_median_s is None and t.false_alarms_per_hour is None


def test_uncertain_is_carried_for_the_caller_to_split() -> None:
    assert score_clip([], make_label(), 10.0, uncertain=True).uncertain


@pytest.mark.parametrize(
    ("truth", "predicted", "counts", "accuracy", "precision", "recall"),
    [
        ([1, 1, 0, 0], [1, 0, 1, 0], (1, 1, 1, 1), 0.5, 0.5, 0.5),
        ([1, 1, 1], [1, 1, 1], (3, 0, 0, 0), 1.0, 1.0, 1.0),
        (
            [0, 0],
            [0, 0],
            (0, 0, 0, 2),
            1.0,
            None,
            None,
        ),  # nothing to find: no precision/recall
        ([], [], (0, 0, 0, 0), None, None, None),
    ],
)
def test_confusion(
    truth: list[int],
    predicted: list[int],
    counts: tuple,
    accuracy: float | None,
    precision: float | None,
    recall: float | None,
) -> None:
    cm = Confusion.count(map(bool, truth), map(bool, predicted))
    assert (cm.tp, cm.fp, cm.fn, cm.tn) == counts
    assert (cm.accuracy, cm.precision, cm.recall) == (accuracy, precision, recall)


# Two falls in a 20 s clip: windows [2, 7] and [11, 21] with the 1 s tolerance.
TWO_FALLS = {
    "fall_events": [
        {"fall_start_s": 2.0, "down_from_s": 3.0, "down_until_s": 6.0},
        {"fall_start_s": 11.0, "down_from_s": 12.0, "down_until_s": "end"},
    ]
}


def test_two_falls_each_alerted_once_and_between_is_a_false_alarm() -> None:
    # The first fall alerted twice (the repeat is no false alarm), an alert at 9 s
    # while the person is up between the falls, the second fall alerted once.
    out = score_clip([4.0, 5.0, 9.0, 13.5], make_label(**TWO_FALLS), duration_s=20.0)
    assert out.windows_s == ((2.0, 7.0), (11.0, 21.0))
    assert out.event_hits_s == (4.0, 13.5)
    assert out.event_delays_s == pytest.approx((1.0, 1.5))
    assert out.false_alarms_s == (9.0,)
    assert (out.falls, out.falls_alerted, out.matched) == (2, 2, True)
    assert out.verdict == "hit+false-alarm"


def test_one_of_two_falls_alerted_is_not_a_matched_clip() -> None:
    out = score_clip([12.5], make_label(**TWO_FALLS), duration_s=20.0)
    assert out.event_hits_s == (None, 12.5) and out.delay_s == pytest.approx(0.5)
    assert not out.matched and out.verdict == "hit-1/2"
    t = summarize([out, score_clip([4.0], make_label(**FALL), 10.0)])
    assert (t.fall_clips, t.falls_alerted) == (2, 1)
    assert (t.fall_events, t.fall_events_alerted) == (3, 2)
    assert t.event_recall == pytest.approx(2 / 3)


def test_overlapping_windows_take_one_alert_each() -> None:
    # Up at 5 s, down again at 6 s: windows [2, 6] and [5, 11] overlap; one alert at
    # 5.5 s is the first fall's hit only, so the second fall is missed.
    label = make_label(
        fall_events=[
            {"down_from_s": 3.0, "down_until_s": 5.0},
            {"down_from_s": 6.0, "down_until_s": 10.0},
        ]
    )
    out = score_clip([5.5], label, duration_s=12.0)
    assert out.event_hits_s == (5.5, None) and out.false_alarms_s == ()
    both = score_clip([5.5, 5.8], label, duration_s=12.0)
    assert both.event_hits_s == (5.5, 5.8) and both.matched


def test_without_fall_events_the_label_window_is_the_one_fall() -> None:
    out = score_clip([4.0], make_label(**FALL), duration_s=10.0)
    assert out.windows_s == ((2.0, 11.0),) and out.falls == 1 and out.matched
    no_fall = score_clip([4.0], make_label(fall=False), duration_s=10.0)
    assert no_fall.falls == 0 and not no_fall.matched and no_fall.windows_s == ()
