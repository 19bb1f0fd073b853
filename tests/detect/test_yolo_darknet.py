"""Darknet `.cfg` + `.weights` + `.names` through OpenCV DNN, loaded for real."""

from __future__ import annotations

import numpy as np
import pytest

from fallwatch.config.detector import YoloDetectorConfig
from fallwatch.detect.decoders.yolo import ClassNamesError, box_iou
from fallwatch.detect.registry import build_detector
from fallwatch.detect.runtimes.opencv_dnn import (
    DarknetModelError,
    OpenCvDnnRuntime,
    check_weights_file,
    parse_darknet_cfg,
)
from fallwatch.detect.yolo import YoloDetector
from fallwatch.types import Frame

# One 16x16 anchor per cell of the 8x8 grid; head conv zeroed so each cell outputs its
# bias: tx = ty = tw = th = 0 (box = anchor at the cell centre), objectness 10, then
# "Normal" -5 and "Fall" +5, so every box is a confident fall.
ONE_ANCHOR = {"anchors": "16,16", "mask": "0"}
HEAD_BIAS = np.array([0, 0, 0, 0, 10, -5, 5], np.float32)


def SIGMOID(x):
    return 1 / (1 + np.exp(-x))


FALL_SCORE = SIGMOID(5.0) * SIGMOID(10.0)


def make_frame(w: int, h: int, value: int = 90) -> Frame:
    return Frame(image=np.full((h, w, 3), value, np.uint8), t_s=0.0, index=0)


def config(files, **kw) -> YoloDetectorConfig:
    return YoloDetectorConfig(
        format="darknet",
        cfg_path=files.cfg,
        weights_path=files.weights,
        names_path=files.names,
        **kw,
    )


def test_cfg_weight_count_matches_the_published_yolov3_tiny(tmp_path):
    """yolov3-tiny.weights as published is 35,434,956 bytes: a 20-byte header and
    8,858,734 float32 values. Counting them from the cfg must give the same."""
    conv = "[convolutional]\nbatch_normalize=1\nfilters={f}\nsize={k}\nstride=1\npad=1\nactivation=leaky\n"
    head = "[convolutional]\nsize=1\nstride=1\npad=1\nfilters=255\nactivation=linear\n"
    yolo = (
        "[yolo]\nmask={m}\nanchors=10,14, 23,27, 37,58, 81,82, 135,169, 344,319\n"
        "classes=80\nnum=6\n"
    )
    pool = "[maxpool]\nsize=2\nstride={s}\n"
    parts = ["[net]\nwidth=416\nheight=416\nchannels=3\n"]
    for i, f in enumerate((16, 32, 64, 128, 256, 512)):
        parts += [conv.format(f=f, k=3), pool.format(s=1 if i == 5 else 2)]
    parts += [conv.format(f=1024, k=3), conv.format(f=256, k=1), conv.format(f=512, k=3), head]
    parts += [yolo.format(m="3,4,5"), "[route]\nlayers=-4\n", conv.format(f=128, k=1)]
    parts += ["[upsample]\nstride=2\n", "[route]\nlayers=-1,8\n", conv.format(f=256, k=3), head]
    parts += [yolo.format(m="0,1,2")]
    path = tmp_path / "yolov3-tiny.cfg"
    path.write_text("\n".join(parts))
    cfg = parse_darknet_cfg(path)
    assert cfg.weight_count == 8_858_734
    assert cfg.classes == (80, 80)
    assert cfg.input_wh == (416, 416) and not cfg.letter_box


def test_tiny_net_runs_end_to_end_with_nms(tiny_darknet):
    files = tiny_darknet()
    loose = YoloDetector(config(files, min_score=0.0, nms_iou=1.0))
    strict = YoloDetector(config(files, min_score=0.0, nms_iou=0.3))
    assert loose.class_names == ("Normal", "Fall") and loose.input_wh == (64, 64)
    frame = make_frame(96, 72, value=0)
    frame.image[20:50, 30:60] = 200
    a, b = loose.detect(frame), strict.detect(frame)
    assert 0 < len(b) < len(a) <= 8 * 8 * 3
    for poses in (a, b):
        assert poses.xyxy.shape == (len(poses), 4) and poses.keypoints.shape == (len(poses), 17, 2)
        assert ((poses.scores >= 0) & (poses.scores <= 1)).all()
        assert ((poses.fallen_scores >= 0) & (poses.fallen_scores <= poses.scores + 1e-6)).all()
        assert (
            (poses.xyxy[:, :2] >= 0).all()
            and (poses.xyxy[:, 2] <= 96).all()
            and (poses.xyxy[:, 3] <= 72).all()
        )
        assert np.all(np.diff(poses.scores) <= 1e-6)  # best first
    # NMS ran before clipping to the frame, so check the boxes clipping left alone.
    inside = b.xyxy[(b.xyxy[:, :2] > 0).all(1) & (b.xyxy[:, 2] < 96) & (b.xyxy[:, 3] < 72)]
    assert len(inside) >= 2
    iou = box_iou(inside, inside)
    assert (iou[~np.eye(len(inside), dtype=bool)] < 0.3).all()


def test_known_head_gives_anchor_boxes_stretched_back_to_the_frame(tiny_darknet):
    """Without letter_box, Darknet (and the original system's blobFromImage) stretch the
    frame into the input: a 128x64 frame is squeezed 2x in x only."""
    files = tiny_darknet(head_bias=HEAD_BIAS, **ONE_ANCHOR)
    poses = YoloDetector(config(files, nms_iou=0.45)).detect(make_frame(128, 64))
    assert len(poses) == 64  # neighbours overlap by IoU 1/3 < 0.45, so all stay
    np.testing.assert_allclose(poses.scores, FALL_SCORE, atol=1e-4)
    np.testing.assert_allclose(poses.fallen_scores, FALL_SCORE, atol=1e-4)
    # Cell (row, col) of the 8x8 grid: centre ((col + .5) * 8, (row + .5) * 8) in the
    # 64x64 input, a 16x16 anchor; stretched back, x doubles, then clipped to the frame.
    cx = np.repeat((np.arange(8) + 0.5) * 16, 8)
    cy = np.tile((np.arange(8) + 0.5) * 8, 8)
    expected = np.clip(np.stack([cx - 16, cy - 8, cx + 16, cy + 8], 1), 0, [128, 64, 128, 64])

    def order(boxes):
        return boxes[np.lexsort(boxes.T[::-1])]

    np.testing.assert_allclose(order(poses.xyxy), order(expected), atol=1e-3)


def test_letter_box_cfg_is_letterboxed(tiny_darknet):
    files = tiny_darknet(head_bias=HEAD_BIAS, letter_box=True, **ONE_ANCHOR)
    poses = YoloDetector(config(files)).detect(make_frame(128, 64))
    # Cell (3, 3): centre (28, 28) in the input -> x 28 / 0.5, y (28 - 16 pad) / 0.5.
    assert any(np.allclose(b, [40, 8, 72, 40], atol=1e-3) for b in poses.xyxy)
    assert len(poses) < 64  # cells wholly in the padding map outside the frame and go


def test_old_weights_header_with_32_bit_seen(tiny_darknet):
    """Version 0.1 files end the header with an int32 `seen`: 16 bytes, not 20. Read
    wrongly, every weight shifts by one and the known head is lost."""
    files = tiny_darknet(head_bias=HEAD_BIAS, version=(0, 1, 0), **ONE_ANCHOR)
    assert files.weights.stat().st_size == 16 + 4 * files.weight_count
    poses = YoloDetector(config(files)).detect(make_frame(64, 64))
    assert len(poses) == 64
    np.testing.assert_allclose(poses.fallen_scores, FALL_SCORE, atol=1e-4)


def test_registry_builds_the_yolo_detector(tiny_darknet):
    files = tiny_darknet()
    assert isinstance(build_detector(config(files)), YoloDetector)


def test_weights_of_another_cfg_are_refused(tiny_darknet):
    two = tiny_darknet(tag="two")
    three = tiny_darknet(classes=3, names=("Normal", "Fall", "Sit"), tag="three")
    files = type(two)(two.cfg, three.weights, two.names, two.weight_count)
    with pytest.raises(
        DarknetModelError, match=r"three\.weights does not match .*two\.cfg.*another cfg"
    ):
        YoloDetector(config(files))


def test_truncated_weights_are_refused(tiny_darknet):
    files = tiny_darknet(drop_floats=10, tag="cut")
    needed = files.weight_count
    with pytest.raises(
        DarknetModelError, match=rf"cut\.weights.*{needed - 10} float32.*needs {needed}.*cut short"
    ):
        check_weights_file(parse_darknet_cfg(files.cfg), files.weights)
    # OpenCV itself would load the short file without a word: the runtime must not.
    with pytest.raises(ValueError, match=r"cut\.weights"):
        OpenCvDnnRuntime(files.cfg, files.weights)


def test_head_filters_that_do_not_fit_classes_are_refused(tiny_darknet):
    files = tiny_darknet(head_filters=18, tag="bad")
    with pytest.raises(DarknetModelError, match=r"bad\.cfg.*classes=2.*needs filters=21.*gives 18"):
        YoloDetector(config(files))


def test_names_file_with_the_wrong_class_count(tiny_darknet, tmp_path):
    files = tiny_darknet()
    files.names.write_text("Normal\nFall\nSit\n")
    with pytest.raises(
        ClassNamesError, match=r"tiny\.names lists 3 class names but .*tiny\.cfg has classes=2"
    ):
        YoloDetector(config(files))


def test_names_without_a_fallen_class(tiny_darknet):
    files = tiny_darknet(names=("person", "car"))
    with pytest.raises(ClassNamesError, match=r"tiny\.names.*fallen_classes"):
        YoloDetector(config(files))


@pytest.mark.parametrize("missing", ["cfg", "weights", "names"])
def test_missing_files_are_named(tiny_darknet, missing):
    files = tiny_darknet()
    getattr(files, missing).unlink()
    with pytest.raises(ValueError, match=rf"tiny\.{missing} does not exist"):
        YoloDetector(config(files))


def test_opencv_errors_are_rephrased_with_the_files(tiny_darknet):
    files = tiny_darknet()
    # A layer we do not count: the size check is skipped and OpenCV's parser objects.
    files.cfg.write_text(files.cfg.read_text().replace("[maxpool]", "[frobnicate]"))
    with pytest.raises(
        DarknetModelError, match=r"OpenCV cannot load .*tiny\.cfg.*Unknown layer type: frobnicate"
    ):
        YoloDetector(config(files))


def test_a_file_that_is_not_a_cfg(tmp_path):
    path = tmp_path / "model.cfg"
    path.write_text("width=3\n")
    with pytest.raises(DarknetModelError, match=r"model\.cfg.*before any \[section\]"):
        parse_darknet_cfg(path)
    path.write_text("[convolutional]\nfilters=3\n")
    with pytest.raises(DarknetModelError, match=r"model\.cfg is not a Darknet cfg"):
        parse_darknet_cfg(path)
