"""Scoring, pure: alert times + a clip's label -> outcome; outcomes -> totals.

The rule a run is judged by (other tools score `clips[].file` + `alerts_s` the same way):
an alert on a fall clip is a *hit* when it falls between `down_from_s - tolerance` and
`down_until_s + tolerance` (`"end"` = the clip's duration); the first such alert gives
the delay after `down_from_s`. Every other alert is a *false alarm*: any alert on a
no-fall clip, and alerts on a fall clip outside its down window (before the person is
down, or after they got up). The tolerance (1 s) covers labels read by eye at 2 fps.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fallwatch.evaluation.manifest import END, ClipLabel

WINDOW_TOLERANCE_S = 1.0
"""Slack either side of the labelled down window: by-eye labels are +-0.5 s."""


def down_window_s(
    label: ClipLabel, duration_s: float, tolerance_s: float = WINDOW_TOLERANCE_S
) -> tuple[float, float] | None:
    """The (start, end) seconds in which an alert counts as a hit; None for no-fall clips."""
    if not label.fall or label.down_from_s is None or label.down_until_s is None:
        return None
    until_s = duration_s if label.down_until_s == END else float(label.down_until_s)
    return label.down_from_s - tolerance_s, until_s + tolerance_s


@dataclass(frozen=True)
class ClipOutcome:
    """How one clip's alerts compare with its label."""

    is_fall: bool
    hard_negative: bool
    uncertain: bool
    duration_s: float
    alerts_s: tuple[float, ...]
    window_s: tuple[float, float] | None
    """Seconds in which an alert is a hit (tolerance included); None on no-fall clips."""
    hit_s: float | None
    """The first alert inside the window."""
    delay_s: float | None
    """`hit_s - down_from_s`: negative (down to -tolerance) when the alert is early."""
    false_alarms_s: tuple[float, ...]

    @property
    def matched(self) -> bool:
        return self.hit_s is not None

    @property
    def false_alarm(self) -> bool:
        return bool(self.false_alarms_s)

    @property
    def verdict(self) -> str:
        """One word for tables: hit, missed, false-alarm, quiet (no-fall clip, no alert)."""
        if self.is_fall:
            base = "hit" if self.matched else "missed"
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
    window = down_window_s(label, duration_s, tolerance_s)
    if window is None:
        inside: tuple[float, ...] = ()
    else:
        inside = tuple(t for t in alerts if window[0] <= t <= window[1])
    hit_s = inside[0] if inside else None
    delay_s = (
        hit_s - label.down_from_s
        if hit_s is not None and label.down_from_s is not None
        else None
    )
    return ClipOutcome(
        is_fall=label.fall,
        hard_negative=label.hard_negative,
        uncertain=uncertain,
        duration_s=duration_s,
        alerts_s=alerts,
        window_s=window,
        hit_s=hit_s,
        delay_s=delay_s,
        false_alarms_s=tuple(t for t in alerts if t not in inside),
    )


@dataclass(frozen=True)
class Totals:
    """Counts over a set of clip outcomes (the headline, or the uncertain clips apart)."""

    clips: int
    fall_clips: int
    falls_alerted: int
    """Fall clips with an alert while the person is down."""
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
        return self.falls_alerted / self.fall_clips if self.fall_clips else None

    @property
    def false_alarms_per_hour(self) -> float | None:
        return self.false_alarms / (self.video_s / 3600.0) if self.video_s > 0 else None


def summarize(outcomes: Sequence[ClipOutcome]) -> Totals:
    falls = [o for o in outcomes if o.is_fall]
    no_falls = [o for o in outcomes if not o.is_fall]
    hard = [o for o in outcomes if o.hard_negative]
    delays = [o.delay_s for o in falls if o.delay_s is not None]
    return Totals(
        clips=len(outcomes),
        fall_clips=len(falls),
        falls_alerted=sum(o.matched for o in falls),
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
