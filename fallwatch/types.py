"""The typed objects that flow between pipeline stages.

Everything that crosses a stage boundary (or a thread, process or queue) is one of
these named, validated types, never a bare tuple.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np
import numpy.typing as npt

NUM_KEYPOINTS = 17
"""COCO keypoints, in COCO order (nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles)."""

KEYPOINT_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Frame:
    """One decoded picture from a source.

    `image` is BGR uint8 `(h, w, 3)` as OpenCV gives it; `t_s` is the time of the frame
    in seconds from the start of the source (media time for files, wall time for live).
    """

    image: npt.NDArray[np.uint8]
    t_s: float
    index: int
    camera_id: str = "default"

    def __post_init__(self) -> None:
        if self.image.ndim != 3 or self.image.shape[2] != 3:
            raise ValueError(f"image must be (h, w, 3), got {self.image.shape}")
        if self.image.dtype != np.uint8:
            raise ValueError(f"image must be uint8, got {self.image.dtype}")

    @property
    def size_wh(self) -> tuple[int, int]:
        return int(self.image.shape[1]), int(self.image.shape[0])


@dataclass(frozen=True)
class Poses:
    """People found in one frame, in pixel coordinates of that frame.

    - `xyxy` `(n, 4)`: box x1, y1, x2, y2.
    - `scores` `(n,)`: person confidence in [0, 1].
    - `keypoints` `(n, 17, 2)`: x, y per COCO keypoint (NaN when a detector gives none).
    - `keypoint_scores` `(n, 17)`: per keypoint confidence in [0, 1] (0 when none).
    - `fallen_scores` `(n,)`: a detector's own "fallen person" probability (a YOLO model
      with a fallen class); NaN where the detector does not judge posture (pose models).
    - `track_ids` `(n,)`: stable person id from the tracker, -1 before tracking.
    """

    xyxy: FloatArray
    scores: FloatArray
    keypoints: FloatArray
    keypoint_scores: FloatArray
    fallen_scores: FloatArray
    track_ids: IntArray

    def __post_init__(self) -> None:
        n = len(self.xyxy)
        checks = (
            ("xyxy", self.xyxy, (n, 4)),
            ("scores", self.scores, (n,)),
            ("keypoints", self.keypoints, (n, NUM_KEYPOINTS, 2)),
            ("keypoint_scores", self.keypoint_scores, (n, NUM_KEYPOINTS)),
            ("fallen_scores", self.fallen_scores, (n,)),
            ("track_ids", self.track_ids, (n,)),
        )
        for name, arr, shape in checks:
            if not isinstance(arr, np.ndarray):
                raise ValueError(f"{name} must be a numpy array, got {type(arr).__name__}")
            if arr.shape != shape:
                raise ValueError(f"{name} must be {shape}, got {arr.shape}")

    @classmethod
    def empty(cls) -> Poses:
        return cls.create(xyxy=np.zeros((0, 4), np.float32))

    @classmethod
    def create(
        cls,
        xyxy: npt.ArrayLike,
        scores: npt.ArrayLike | None = None,
        keypoints: npt.ArrayLike | None = None,
        keypoint_scores: npt.ArrayLike | None = None,
        fallen_scores: npt.ArrayLike | None = None,
        track_ids: npt.ArrayLike | None = None,
    ) -> Poses:
        """Build from array-likes, filling what a detector does not provide."""
        box = np.asarray(xyxy, dtype=np.float32).reshape(-1, 4)
        n = len(box)
        return cls(
            xyxy=box,
            scores=(np.ones(n, np.float32) if scores is None else np.asarray(scores, np.float32)),
            keypoints=(
                np.full((n, NUM_KEYPOINTS, 2), np.nan, np.float32)
                if keypoints is None
                else np.asarray(keypoints, np.float32)
            ),
            keypoint_scores=(
                np.zeros((n, NUM_KEYPOINTS), np.float32)
                if keypoint_scores is None
                else np.asarray(keypoint_scores, np.float32)
            ),
            fallen_scores=(
                np.full(n, np.nan, np.float32)
                if fallen_scores is None
                else np.asarray(fallen_scores, np.float32)
            ),
            track_ids=(
                np.full(n, -1, np.int64) if track_ids is None else np.asarray(track_ids, np.int64)
            ),
        )

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: npt.NDArray[np.bool_] | npt.NDArray[np.int64] | slice) -> Poses:
        """Select people with a boolean mask or an index array; returns a new object."""
        return Poses(
            xyxy=self.xyxy[index],
            scores=self.scores[index],
            keypoints=self.keypoints[index],
            keypoint_scores=self.keypoint_scores[index],
            fallen_scores=self.fallen_scores[index],
            track_ids=self.track_ids[index],
        )

    def with_track_ids(self, track_ids: npt.ArrayLike) -> Poses:
        return replace(self, track_ids=np.asarray(track_ids, np.int64).reshape(len(self)))

    @staticmethod
    def concat(items: list[Poses]) -> Poses:
        if not items:
            return Poses.empty()
        return Poses(
            xyxy=np.concatenate([p.xyxy for p in items]),
            scores=np.concatenate([p.scores for p in items]),
            keypoints=np.concatenate([p.keypoints for p in items]),
            keypoint_scores=np.concatenate([p.keypoint_scores for p in items]),
            fallen_scores=np.concatenate([p.fallen_scores for p in items]),
            track_ids=np.concatenate([p.track_ids for p in items]),
        )


class FallState(StrEnum):
    """Where one tracked person stands in the fall state machine."""

    UPRIGHT = "upright"
    FALLING = "falling"
    DOWN = "down"
    ALERTED = "alerted"


class EventKind(StrEnum):
    FALL = "fall"
    """A fall was seen and the person stayed down for the confirm time."""
    FOUND_DOWN = "found_down"
    """A person was found lying (no fall seen) for the longer found-down time."""
    RECOVERED = "recovered"
    """A person who raised an alert is up again."""


@dataclass(frozen=True)
class FallEvent:
    """Something the control room must hear about, for one tracked person."""

    kind: EventKind
    camera_id: str
    track_id: int
    t_s: float
    """When the event was raised (seconds on the source's clock)."""
    down_from_s: float
    """When the person was first judged down in this episode."""
    fall_seen_s: float | None
    """When a fast descent was seen, None when the person was found already down."""
    xyxy: tuple[float, float, float, float]
    down_score: float
    """Share of the confirm window in which the person was judged down, in [0, 1]."""

    @property
    def down_for_s(self) -> float:
        return self.t_s - self.down_from_s


@dataclass(frozen=True)
class TrackStatus:
    """The classifier's view of one person in the current frame (for drawing and reports)."""

    track_id: int
    state: FallState
    down_score: float
    """This frame's evidence that the person is lying down, in [0, 1]."""
    down_share: float
    """Share of the confirm window judged down, in [0, 1]."""
    down_for_s: float
    """Seconds since this down episode started, 0 when not down."""
    ignored: bool = False
    """True when the person lies inside an ignore zone or is below the minimum size."""


@dataclass(frozen=True)
class FallUpdate:
    """What `FallClassifier.update` returns for one frame."""

    events: list[FallEvent] = field(default_factory=list)
    tracks: list[TrackStatus] = field(default_factory=list)


# --- domain states shared by the store, the notifiers and the web layer -----------------
# Stored by value in the database (store.models), sent by value in messages and the API:
# renaming a value is a data migration, adding one is a code change.


class EventState(StrEnum):
    OPEN = "open"
    """Alerts queued or sent; nobody has acknowledged it yet."""
    ACKNOWLEDGED = "acknowledged"
    """An operator has taken it on; no escalation."""
    RESOLVED = "resolved"
    """The person is up again, or an operator closed it."""
    SUPPRESSED = "suppressed"
    """Recorded, but every alert was held back by a policy (cooldown, hourly cap)."""


class AlertStatus(StrEnum):
    PENDING = "pending"
    """Waiting to be sent at `next_attempt_at` (first try or a retry)."""
    SENDING = "sending"
    """Claimed by a dispatcher until `lease_until`."""
    DELIVERED = "delivered"
    """The provider accepted it."""
    FAILED = "failed"
    """Permanently rejected, or out of attempts; `last_error` says why."""
    SUPPRESSED = "suppressed"
    """Not sent on purpose (policy, or the event was closed first); `last_error` says why."""


class AlertKind(StrEnum):
    ALERT = "alert"
    ESCALATION = "escalation"
    RESOLVED = "resolved"
    SUMMARY = "summary"
    TEST = "test"
    FALLBACK = "fallback"
    """Sent on a route's fallback channel when an alert or escalation failed for good."""


class Role(StrEnum):
    """What a user or token may do; each role includes the ones before it."""

    VIEWER = "viewer"
    """Watch cameras and events."""
    OPERATOR = "operator"
    """Also acknowledge and resolve events, pause and resume cameras."""
    ADMIN = "admin"
    """Also add, edit and remove cameras, users and API tokens."""

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


class CameraOrigin(StrEnum):
    CONFIG = "config"
    """From the config file: settings follow the file; only pause/resume is kept here."""
    API = "api"
    """Added in the UI or API: this row is the only place it is defined."""
