"""MoveNet loader and decoder: the bundle, the letterbox, and real frames."""

from __future__ import annotations

import hashlib
import json
import zipfile

import cv2
import numpy as np
import pytest

from fallwatch.config.detector import PoseDetectorConfig
from fallwatch.detect.bundle import ModelNotFoundError, extract_tflite, find_bundle
from fallwatch.detect.decoders.movenet import decode_movenet_multipose
from fallwatch.detect.letterbox import letterbox
from fallwatch.detect.pose import MoveNetDetector
from fallwatch.sources.video import iter_video
from fallwatch.types import Frame


def _bundle(tmp_path, payload: bytes, declared: bytes | None = None):
    path = tmp_path / "b.nfd"
    with zipfile.ZipFile(path, "w") as zf:
        digest = hashlib.sha256(declared if declared is not None else payload).hexdigest()
        zf.writestr("manifest.json", json.dumps({"files": {"models/m.tflite": {"sha256": digest}}}))
        zf.writestr("models/m.tflite", payload)
    return path


def test_extract_checks_hash_and_caches(tmp_path):
    bundle = _bundle(tmp_path, b"model-bytes")
    out = extract_tflite(bundle, "models/m.tflite", tmp_path / "cache")
    assert out.read_bytes() == b"model-bytes"
    # A second call reuses the cached file.
    mtime = out.stat().st_mtime_ns
    assert extract_tflite(bundle, "models/m.tflite", tmp_path / "cache").stat().st_mtime_ns == mtime


def test_extract_refuses_a_tampered_bundle(tmp_path):
    bundle = _bundle(tmp_path, b"tampered", declared=b"original")
    with pytest.raises(ModelNotFoundError, match="sha256"):
        extract_tflite(bundle, "models/m.tflite", tmp_path / "cache")


def test_extract_refuses_a_non_zip(tmp_path):
    bad = tmp_path / "bad.nfd"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ModelNotFoundError, match="not a valid model bundle"):
        extract_tflite(bad, "models/m.tflite", tmp_path / "cache")


def test_installed_bundle_is_found():
    assert find_bundle().name.endswith(".nfd")


@pytest.mark.parametrize(
    "size_wh,input_wh",
    [((640, 480), (256, 192)), ((640, 360), (256, 192)), ((480, 640), (320, 320))],
)
def test_letterbox_maps_points_back(size_wh, input_wh):
    w, h = size_wh
    img = np.zeros((h, w, 3), np.uint8)
    out, box = letterbox(img, input_wh)
    assert out.shape == (input_wh[1], input_wh[0], 3)
    # A source point -> its place in the input, normalised -> back to the source.
    src = np.array([[w * 0.25, h * 0.75]], np.float32)
    norm = (src * box.scale + [box.pad_x, box.pad_y]) / np.array(input_wh, np.float32)
    np.testing.assert_allclose(box.to_pixels_xy(norm), src, atol=1.0)


def test_decoder_filters_and_converts():
    raw = np.zeros((1, 6, 56), np.float32)
    raw[0, 0, :51] = np.tile([0.5, 0.25, 0.9], 17)  # y, x, score
    raw[0, 0, 51:56] = [0.1, 0.2, 0.9, 0.3, 0.8]  # ymin, xmin, ymax, xmax, score
    raw[0, 1, 55] = 0.05  # below threshold
    _, box = letterbox(np.zeros((192, 256, 3), np.uint8), (256, 192))
    poses = decode_movenet_multipose(raw, box, min_person_score=0.1)
    assert len(poses) == 1
    np.testing.assert_allclose(poses.keypoints[0, 0], [0.25 * 256, 0.5 * 192], atol=1e-3)
    np.testing.assert_allclose(
        poses.xyxy[0], [0.2 * 256, 0.1 * 192, 0.3 * 256, 0.9 * 192], atol=1e-3
    )
    assert poses.scores[0] == pytest.approx(0.8)
    with pytest.raises(ValueError, match=r"\(1, k, 56\)"):
        decode_movenet_multipose(np.zeros((1, 6, 50)), box, 0.1)


@pytest.mark.parametrize("input_wh", [(256, 192), (320, 320)])
def test_movenet_finds_the_person_in_a_real_frame(falls_dir, input_wh):
    video = falls_dir / "videos/upfall/UPFall_S1_A01_T1_Cam1.mp4"
    frame = next(iter_video(video))
    det = MoveNetDetector(PoseDetectorConfig(input_wh=input_wh))
    poses = det.detect(frame)
    assert len(poses) >= 1
    best = int(np.argmax(poses.scores))
    x1, y1, x2, y2 = poses.xyxy[best]
    # The subject stands at the right of the frame, feet near the bottom (640x480).
    assert 300 < (x1 + x2) / 2 < 560 and y2 > 380 and (y2 - y1) > 200
    kp, ks = poses.keypoints[best], poses.keypoint_scores[best]
    assert (ks > 0.3).sum() >= 12
    assert kp[0, 1] < kp[15, 1] and kp[0, 1] < kp[16, 1]  # nose above the ankles


def test_movenet_sees_nobody_in_a_blank_frame():
    det = MoveNetDetector()
    poses = det.detect(Frame(np.full((480, 640, 3), 127, np.uint8), 0.0, 0))
    assert (poses.scores < 0.25).all()


def test_input_size_must_be_multiple_of_32():
    with pytest.raises(ValueError, match="multiples of 32"):
        PoseDetectorConfig(input_wh=(250, 192))


def test_detector_works_on_a_rotated_real_frame(falls_dir):
    """Portrait input goes through the letterbox; the person is still found."""
    frame = next(iter_video(falls_dir / "videos/upfall/UPFall_S1_A01_T1_Cam1.mp4"))
    rotated = cv2.rotate(frame.image, cv2.ROTATE_90_CLOCKWISE)
    poses = MoveNetDetector().detect(Frame(np.ascontiguousarray(rotated), 0.0, 0))
    assert len(poses) >= 1 and poses.xyxy[:, 2].max() <= 480 + 5
