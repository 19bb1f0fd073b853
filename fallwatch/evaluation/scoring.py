"""Scoring, pure: alert times + a clip's label -> outcome; outcomes -> totals.

The rule a run is judged by (other tools score `clips[].file` + `alerts_s` the same way):
an alert on a fall clip is a *hit* when it falls between `down_from_s - tolerance` and
`down_until_s + tolerance` (`"end"` = the clip's duration); the first such alert gives
the delay after `down_from_s`. Every other alert is a *false alarm*: any alert on a
no-fall clip, and alerts on a fall clip outside its down window (before the person is
down, or after they got up). The tolerance (1 s) covers labels read by eye at 2 fps.

A clip with several falls (`label.fall_events`) has one such window per fall: each is a
fall to alert once (a second alert inside the same window is neither a hit nor a false
alarm), and an alert outside every window is a false alarm. The clip is `matched` only
when every one of its falls was alerted.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fallwatch.evaluation.manifest import END, ClipLabel

WINDOW_TOLERANCE_S = 1.0
"""Slack either side of the labelled down window: by-eye labels are +-0.5 s."""


def down_windows_s(
    label: ClipLabel, duration_s: float, tolerance_s: float = WINDOW_TOLERANCE_S
) -> tuple[tuple[float, float], ...]:
    """(start, end) seconds per fall in which an alert counts as its hit; () if no fall."""
    return tuple(
        (
            fall.down_from_s - tolerance_s,
            (duration_s if fall.down_until_s == END else float(fall.down_until_s)) + tolerance_s,
        )
        for fall in label.falls
    )


def down_window_s(
    label: ClipLabel, duration_s: float, tolerance_s: float = WINDOW_TOLERANCE_S
) -> tuple[float, float] | None:
    """The first fall's window (see `down_windows_s`); None for no-fall clips."""
    windows = down_windows_s(label, duration_s, tolerance_s)
    return windows[0] if windows else None


@dataclass(frozen=True)
class ClipOutcome:
    """How one clip's alerts compare with its label."""

    is_fall: bool
    hard_negative: bool
    uncertain: bool
    duration_s: float
    alerts_s: tuple[float, ...]
    windows_s: tuple[tuple[float, float], ...]
    """Per fall, the seconds in which an alert is its hit (tolerance included); ()
    on no-fall clips."""
    event_hits_s: tuple[float | None, ...]
    """Per fall, the first alert inside its window (None: missed)."""
    event_delays_s: tuple[float | None, ...]
    """Per fall, `hit - down_from_s`: negative (down to -tolerance) when early."""
    false_alarms_s: tuple[float, ...]

    @property
    def window_s(self) -> tuple[float, float] | None:
        """The first fall's window; None on no-fall clips."""
        return self.windows_s[0] if self.windows_s else None

    @property
    def hit_s(self) -> float | None:
        """The first alert that is some fall's hit."""
        hits = [t for t in self.event_hits_s if t is not None]
        return min(hits) if hits else None

    @property
    def delay_s(self) -> float | None:
        """The delay of the first fall alerted (the only one on one-fall clips)."""
        return next((d for d in self.event_delays_s if d is not None), None)

    @property
    def falls(self) -> int:
        return len(self.windows_s)

    @property
    def falls_alerted(self) -> int:
        return sum(t is not None for t in self.event_hits_s)

    @property
    def matched(self) -> bool:
        """Every fall of the clip was alerted (False on no-fall clips)."""
        return self.falls > 0 and self.falls_alerted == self.falls

    @property
    def false_alarm(self) -> bool:
        return bool(self.false_alarms_s)

    @property
    def verdict(self) -> str:
        """One word for tables: hit, missed, false-alarm, quiet (no-fall clip, no alert)."""
        if self.is_fall:
            if self.matched:
                base = "hit"
            elif self.falls_alerted:
                base = f"hit-{self.falls_alerted}/{self.falls}"
            else:
                base = "missed"
            return base + ("+false-alarm" if self.false_alarm else "")
        return "false-alarm" if self.false_alarm else "quiet"


def score_clip(
    alerts_s: Iterable[float],
    label: ClipLabel,
    duration_s: float,
    uncertain: bool = False,
    tolerance_s: float = WINDOW_TOLERANCE_S,
) -> ClipOutcome:
    """Judge one clip's alert times (seconds from its first frame) against its label."""
    if duration_s < 0:
        raise ValueError(f"duration_s must be >= 0, got {duration_s}")
    if tolerance_s < 0:
        raise ValueError(f"tolerance_s must be >= 0, got {tolerance_s}")
    alerts = tuple(sorted(float(t) for t in alerts_s))
    windows = down_windows_s(label, duration_s, tolerance_s)
    hits: list[float | None] = [None] * len(windows)
    false_alarms: list[float] = []
    for t in alerts:
        inside = [k for k, (lo, hi) in enumerate(windows) if lo <= t <= hi]
        if not inside:
            false_alarms.append(t)
            continue
        # Windows of falls close together overlap by the tolerance: one alert is the hit
        # of one fall only, the earliest still waiting; a repeat inside is no false alarm.
        waiting = [k for k in inside if hits[k] is None]
        if waiting:
            hits[waiting[0]] = t
    downs_s = [fall.down_from_s for fall in label.falls]
    return ClipOutcome(
        is_fall=label.fall,
        hard_negative=label.hard_negative,
        uncertain=uncertain,
        duration_s=duration_s,
        alerts_s=alerts,
        windows_s=windows,
        event_hits_s=tuple(hits),
        event_delays_s=tuple(
            None if hit is None else hit - down_s for hit, down_s in zip(hits, downs_s, strict=True)
        ),
        false_alarms_s=tuple(false_alarms),
    )


@dataclass(frozen=True)
class Totals:
    """Counts over a set of clip outcomes (the headline, or the uncertain clips apart)."""

    clips: int
    fall_clips: int
    falls_alerted: int
    """Fall clips with an alert while the person is down (every fall, on clips with several)."""
    fall_events: int
    """Falls in all: one per fall clip, or its `fall_events` count."""
    fall_events_alerted: int
    """Falls with an alert in their own down window."""
    no_fall_clips: int
    no_fall_clips_alerted: int
    hard_negative_clips: int
    hard_negatives_alerted: int
    false_alarms: int
    """False alarm alerts in all: on no-fall clips plus outside the window on fall clips."""
    false_alarms_on_fall_clips: int
    """Alerts on fall clips outside the down window (before the fall, after getting up)."""
    false_alarm_clips: int
    """Clips with at least one false alarm."""
    video_s: float
    delay_median_s: float | None
    delay_max_s: float | None

    @property
    def fall_recall(self) -> float | None:
        """Share of fall clips with every fall alerted."""
        return self.falls_alerted / self.fall_clips if self.fall_clips else None

    @property
    def event_recall(self) -> float | None:
        """Share of falls (events) alerted; equals `fall_recall` when no clip has several."""
        return self.fall_events_alerted / self.fall_events if self.fall_events else None

    @property
    def false_alarms_per_hour(self) -> float | None:
        return self.false_alarms / (self.video_s / 3600.0) if self.video_s > 0 else None


def summarize(outcomes: Sequence[ClipOutcome]) -> Totals:
    falls = [o for o in outcomes if o.is_fall]
    no_falls = [o for o in outcomes if not o.is_fall]
    hard = [o for o in outcomes if o.hard_negative]
    delays = [d for o in falls for d in o.event_delays_s if d is not None]
    return Totals(
        clips=len(outcomes),
        fall_clips=len(falls),
        falls_alerted=sum(o.matched for o in falls),
        fall_events=sum(o.falls for o in falls),
        fall_events_alerted=sum(o.falls_alerted for o in falls),
        no_fall_clips=len(no_falls),
        no_fall_clips_alerted=sum(bool(o.alerts_s) for o in no_falls),
        hard_negative_clips=len(hard),
        hard_negatives_alerted=sum(bool(o.alerts_s) for o in hard),
        false_alarms=sum(len(o.false_alarms_s) for o in outcomes),
        false_alarms_on_fall_clips=sum(len(o.false_alarms_s) for o in falls),
        false_alarm_clips=sum(o.false_alarm for o in outcomes),
        video_s=sum(o.duration_s for o in outcomes),
        delay_median_s=statistics.median(delays) if delays else None,
        delay_max_s=max(delays) if delays else None,
    )


@dataclass(frozen=True)
class Confusion:
    """Binary fallen / not fallen counts (stills)."""

    tp: int
    fp: int
    fn: int
    tn: int

    @classmethod
    def count(cls, truth: Iterable[bool], predicted: Iterable[bool]) -> Confusion:
        pairs = list(zip(truth, predicted, strict=True))
        return cls(
            tp=sum(t and p for t, p in pairs),
            fp=sum(p and not t for t, p in pairs),
            fn=sum(t and not p for t, p in pairs),
            tn=sum(not t and not p for t, p in pairs),
        )

    @property
    def total(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def accuracy(self) -> float | None:
        return (self.tp + self.tn) / self.total if self.total else None

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None
