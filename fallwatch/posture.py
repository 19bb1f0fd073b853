"""Per-person posture features from keypoints and boxes (pure functions, no state).

All functions take `Poses` for one frame and return arrays of shape `(n,)`. Angles are
degrees from vertical: 0 = upright, 90 = horizontal, so they read the same whichever way
a person lies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fallwatch.types import Poses

NOSE, L_SHOULDER, R_SHOULDER = 0, 5, 6
L_WRIST, R_WRIST = 9, 10
L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = 11, 12, 13, 14, 15, 16
HEAD = (0, 1, 2, 3, 4)

Arr = npt.NDArray[np.float32]


def _midpoint(
    kp: Arr, vis: npt.NDArray[np.bool_], idx: tuple[int, ...]
) -> tuple[Arr, npt.NDArray[np.bool_]]:
    """Mean of the visible keypoints in `idx` -> `(n, 2)` and whether any was visible."""
    sel_vis = vis[:, idx]
    count = sel_vis.sum(axis=1)
    pts = np.where(sel_vis[:, :, None], kp[:, idx, :], 0.0).sum(axis=1)
    mid = pts / np.maximum(count, 1)[:, None]
    return mid.astype(np.float32), count > 0


def _angle_from_vertical(upper: Arr, lower: Arr) -> Arr:
    d = upper - lower
    angle: Arr = np.degrees(np.arctan2(np.abs(d[:, 0]), np.abs(d[:, 1]) + 1e-6)).astype(np.float32)
    return angle


@dataclass(frozen=True)
class PostureFeatures:
    """Features of each person in one frame, `(n,)` each."""

    body_angle_deg: Arr
    """Angle of the line from feet (or knees, or hips) to shoulders (or head); NaN if unseen."""
    torso_angle_deg: Arr
    """Angle of the line from hips to shoulders; NaN if unseen."""
    thigh_angle_deg: Arr
    """Angle of the line from hips to knees; NaN if unseen. Vertical thighs with a
    horizontal torso are kneeling or crawling on all fours, not lying."""
    shin_angle_deg: Arr
    """Angle of the line from knees to ankles; NaN if unseen. Horizontal shins with
    upright thighs are kneeling, not standing."""
    aspect_wh: Arr
    """Box width over height."""
    keypoint_aspect_wh: Arr
    """Horizontal over vertical spread of the visible keypoints; NaN with fewer than 4."""
    visible_fraction: Arr
    """Share of the 17 keypoints seen with enough confidence."""
    top_y: Arr
    """Y of the highest body point (shoulders or head, else the box top), pixels."""
    bottom_y: Arr
    """Y of the box bottom, pixels."""
    height_px: Arr
    """Box height, pixels."""
    legs_seen: npt.NDArray[np.bool_]
    """True when knees or ankles are seen, so `body_angle_deg` spans the whole body."""
    hip_y: Arr
    """Y of the midpoint of the seen hips, pixels; NaN if unseen."""
    knee_y: Arr
    """Y of the midpoint of the seen knees, pixels; NaN if unseen."""
    arm_support: npt.NDArray[np.bool_]
    """True when an arm is held straight down below its shoulder, at least
    `arm_support_min_length` torso lengths long: the body rests on the hands (push-ups, a
    plank, all fours, bending over), where a person lying on the floor has the arms
    along the floor."""


ARM_SUPPORT_MAX_DEG = 30.0
"""Default of `FallRulesConfig.arm_support_max_deg`: shoulder-to-wrist within this angle
of straight down counts as an arm holding the body. Defined here, the lowest layer, so
the detector's candidate test (which ignores arm support) needs no config."""
ARM_SUPPORT_MIN_LENGTH = 0.6
"""Default of `FallRulesConfig.arm_support_min_length`: ...and at least this many torso
lengths long (a lying arm seen end-on is short)."""


def _arm_support(
    kp: Arr,
    vis: npt.NDArray[np.bool_],
    hips: Arr,
    hip_ok: npt.NDArray[np.bool_],
    max_deg: float,
    min_length: float,
) -> npt.NDArray[np.bool_]:
    support = np.zeros(len(kp), bool)
    for shoulder, wrist in ((L_SHOULDER, L_WRIST), (R_SHOULDER, R_WRIST)):
        ok = vis[:, shoulder] & vis[:, wrist] & hip_ok
        arm = kp[:, wrist] - kp[:, shoulder]
        down = arm[:, 1] > 0
        angle = np.degrees(np.arctan2(np.abs(arm[:, 0]), np.abs(arm[:, 1]) + 1e-6))
        torso = np.linalg.norm(kp[:, shoulder] - hips, axis=1)
        long_enough = np.linalg.norm(arm, axis=1) >= min_length * torso
        support |= ok & down & (angle <= max_deg) & long_enough
    return support


def posture_features(
    poses: Poses,
    min_keypoint_score: float = 0.2,
    *,
    arm_support_max_deg: float = ARM_SUPPORT_MAX_DEG,
    arm_support_min_length: float = ARM_SUPPORT_MIN_LENGTH,
) -> PostureFeatures:
    """Features of every person in `poses`; keypoints below `min_keypoint_score` are unseen."""
    kp = poses.keypoints
    vis = (poses.keypoint_scores >= min_keypoint_score) & np.isfinite(kp).all(axis=2)
    shoulders, sh_ok = _midpoint(kp, vis, (L_SHOULDER, R_SHOULDER))
    head, head_ok = _midpoint(kp, vis, HEAD)
    hips, hip_ok = _midpoint(kp, vis, (L_HIP, R_HIP))
    knees, knee_ok = _midpoint(kp, vis, (L_KNEE, R_KNEE))
    ankles, ankle_ok = _midpoint(kp, vis, (L_ANKLE, R_ANKLE))

    upper = np.where(sh_ok[:, None], shoulders, head)
    upper_ok = sh_ok | head_ok
    lower = np.where(ankle_ok[:, None], ankles, np.where(knee_ok[:, None], knees, hips))
    lower_ok = ankle_ok | knee_ok | hip_ok
    body = np.where(upper_ok & lower_ok, _angle_from_vertical(upper, lower), np.nan)
    torso = np.where(sh_ok & hip_ok, _angle_from_vertical(shoulders, hips), np.nan)
    thigh = np.where(hip_ok & knee_ok, _angle_from_vertical(hips, knees), np.nan)
    shin = np.where(knee_ok & ankle_ok, _angle_from_vertical(knees, ankles), np.nan)

    w = poses.xyxy[:, 2] - poses.xyxy[:, 0]
    h = poses.xyxy[:, 3] - poses.xyxy[:, 1]
    aspect = w / np.maximum(h, 1.0)

    n = len(poses)
    kp_aspect = np.full(n, np.nan, np.float32)
    for i in range(n):
        pts = kp[i][vis[i]]
        if len(pts) >= 4:
            spread = pts.max(axis=0) - pts.min(axis=0)
            kp_aspect[i] = spread[0] / max(float(spread[1]), 1.0)

    upper_body = [*HEAD, L_SHOULDER, R_SHOULDER]
    top_candidates = np.where(vis[:, upper_body], kp[:, upper_body, 1], np.inf)
    top = top_candidates.min(axis=1)
    top = np.where(np.isfinite(top), top, poses.xyxy[:, 1])
    return PostureFeatures(
        body_angle_deg=body.astype(np.float32),
        torso_angle_deg=torso.astype(np.float32),
        thigh_angle_deg=thigh.astype(np.float32),
        shin_angle_deg=shin.astype(np.float32),
        aspect_wh=aspect.astype(np.float32),
        keypoint_aspect_wh=kp_aspect,
        visible_fraction=vis.mean(axis=1).astype(np.float32),
        top_y=top.astype(np.float32),
        bottom_y=poses.xyxy[:, 3].astype(np.float32),
        height_px=h.astype(np.float32),
        legs_seen=(knee_ok | ankle_ok),
        hip_y=np.where(hip_ok, hips[:, 1], np.nan).astype(np.float32),
        knee_y=np.where(knee_ok, knees[:, 1], np.nan).astype(np.float32),
        arm_support=_arm_support(
            kp, vis, hips, hip_ok, arm_support_max_deg, arm_support_min_length
        ),
    )
