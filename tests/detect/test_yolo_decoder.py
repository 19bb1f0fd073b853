"""The pure-numpy YOLO decoder: layouts, class names, NMS, mapping back to pixels."""

from __future__ import annotations

import numpy as np
import pytest

from fallwatch.detect.decoders.yolo import (
    ClassNamesError,
    YoloClasses,
    YoloLayout,
    YoloOutputError,
    box_iou,
    candidates,
    decode_yolo,
    find_layout,
    nms,
    parse_names_metadata,
    read_names_file,
)
from fallwatch.detect.letterbox import Letterbox

NAMES = ("Normal", "Fall", "dog")
CLASSES = YoloClasses.select(NAMES, ["fall"], ["normal", "person"], "test")
IDENTITY_64 = Letterbox(scale=1.0, pad_x=0, pad_y=0, input_wh=(64, 64))


def v8_output(rows: list[list[float]], n: int = 10) -> np.ndarray:
    """`[1, 4 + nc, n]` from rows of (cx, cy, w, h, class scores...), zero-padded to n."""
    table = np.zeros((n, len(rows[0])), np.float32)
    table[: len(rows)] = rows
    return table.T[np.newaxis]


@pytest.mark.parametrize(
    ("shape", "nc", "layout"),
    [
        ((1, 6, 8400), 2, YoloLayout.V8),
        ((1, 84, 8400), 80, YoloLayout.V8),
        ((1, 8400, 6), 2, YoloLayout.V8_TRANSPOSED),
        ((1, 25200, 7), 2, YoloLayout.V5),
        ((1, 25200, 85), 80, YoloLayout.V5),
        ((1, 6300, 6), 1, YoloLayout.V5),  # one "fallen person" class, v5
    ],
)
def test_find_layout_from_shape_and_class_count(shape, nc, layout):
    assert find_layout(shape, nc, "m.onnx") is layout


@pytest.mark.parametrize(
    "shape",
    [(1, 7, 8400), (1, 300, 9), (2, 6, 8400), (6, 8400), (1, 6, 6), (1, 32, 160, 160)],
)
def test_unknown_layout_names_the_source_and_shape(shape):
    with pytest.raises(YoloOutputError, match=r"m\.onnx.*output shape"):
        find_layout(shape, 2, "m.onnx")


def test_names_metadata_dict_and_list():
    assert parse_names_metadata("{0: 'Normal', 1: 'Fall'}", "m") == ("Normal", "Fall")
    assert parse_names_metadata("{1: 'Fall', 0: 'Normal'}", "m") == ("Normal", "Fall")
    assert parse_names_metadata("['a', 'b', 'c']", "m") == ("a", "b", "c")


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('echo pwned')",  # code, which literal_eval refuses to run
        "{0: 'a', 2: 'b'}",  # a gap in the indices
        "{0: 1}",
        "[]",
        "not python",
    ],
)
def test_bad_names_metadata_is_refused(text):
    with pytest.raises(ClassNamesError, match=r"m\.onnx"):
        parse_names_metadata(text, "m.onnx")


def test_names_file(tmp_path):
    path = tmp_path / "obj.names"
    path.write_text("fallen person\n\nperson\n\n")
    assert read_names_file(path) == ("fallen person", "person")
    with pytest.raises(ClassNamesError, match=r"missing\.names"):
        read_names_file(tmp_path / "missing.names")
    (tmp_path / "empty.names").write_text("\n \n")
    with pytest.raises(ClassNamesError, match=r"empty\.names.*no classes"):
        read_names_file(tmp_path / "empty.names")


def test_class_selection_ignores_case_and_needs_a_fallen_class():
    assert CLASSES.fallen.tolist() == [1]
    assert CLASSES.person.tolist() == [0]
    with pytest.raises(ClassNamesError, match="none of the model's classes"):
        YoloClasses.select(("person", "car"), ["Fall"], ["person"], "coco.names")


def test_box_iou():
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [3, 3, 3, 3]], np.float32)
    np.testing.assert_allclose(box_iou(a, b)[0], [1.0, 50 / 150, 0.0, 0.0], atol=1e-6)


def test_nms_suppresses_overlaps_at_or_above_threshold():
    xyxy = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [20, 0, 30, 10], [5, 0, 15, 10]], np.float32)
    scores = np.array([0.9, 0.95, 0.5, 0.6], np.float32)
    # 1 beats 0 (IoU 0.82); 3 overlaps 1 by 0.43 and 0 by 0.33; 2 is alone.
    assert nms(xyxy, scores, 0.5).tolist() == [1, 3, 2]
    assert nms(xyxy, scores, 0.4).tolist() == [1, 2]
    assert nms(xyxy, scores, 1.0).tolist() == [1, 0, 3, 2]  # only identical boxes go
    assert nms(xyxy[:0], scores[:0], 0.5).tolist() == []


def test_v5_class_score_includes_objectness():
    rows = np.zeros((1, 10, 8), np.float32)
    rows[0, 0] = [32, 32, 10, 20, 0.5, 0.2, 0.8, 0.0]
    xyxy, scores = candidates([rows], YoloLayout.V5, 3, (64, 64))
    np.testing.assert_allclose(xyxy[0], [27, 22, 37, 42])
    np.testing.assert_allclose(scores[0], [0.1, 0.4, 0.0])


def test_darknet_rows_are_normalised_and_concatenated():
    a = np.array([[0.5, 0.5, 0.25, 0.5, 0.9, 0.1, 0.7, 0.0]], np.float32)
    b = np.zeros((3, 8), np.float32)
    xyxy, scores = candidates([a, b], YoloLayout.DARKNET, 3, (64, 32))
    assert xyxy.shape == (4, 4) and scores.shape == (4, 3)
    np.testing.assert_allclose(xyxy[0], [24, 8, 40, 24])
    np.testing.assert_allclose(scores[0], [0.1, 0.7, 0.0])  # not multiplied again
    with pytest.raises(YoloOutputError, match="rows, 8"):
        candidates([np.zeros((3, 7), np.float32)], YoloLayout.DARKNET, 3, (64, 32))


def test_decode_keeps_one_box_per_person_with_its_fallen_score():
    out = v8_output(
        [
            [20, 20, 10, 20, 0.9, 0.3, 0.0],  # person A, upright
            [21, 20, 10, 20, 0.0, 0.8, 0.0],  # person A again, as "Fall": suppressed
            [50, 40, 20, 8, 0.1, 0.7, 0.0],  # person B, fallen
            [50, 10, 8, 8, 0.0, 0.0, 0.95],  # a dog: neither class, dropped
            [10, 50, 8, 8, 0.1, 0.05, 0.0],  # under min_score
        ]
    )
    poses = decode_yolo(out, YoloLayout.V8, CLASSES, (64, 64), IDENTITY_64, (64, 64), 0.25, 0.45)
    assert len(poses) == 2
    np.testing.assert_allclose(poses.xyxy, [[15, 10, 25, 30], [40, 36, 60, 44]])
    np.testing.assert_allclose(poses.scores, [0.9, 0.7])
    np.testing.assert_allclose(poses.fallen_scores, [0.3, 0.7])
    assert np.isnan(poses.keypoints).all() and (poses.keypoint_scores == 0).all()
    assert (poses.track_ids == -1).all()


def test_decode_maps_back_through_the_letterbox_and_clips_to_the_frame():
    # A 128x64 frame letterboxed into 64x64: scale 0.5, 16 px of padding above.
    box = Letterbox(scale=0.5, pad_x=0, pad_y=16, input_wh=(64, 64))
    out = v8_output([[32, 32, 20, 10, 0.0, 0.9, 0.0], [60, 30, 10, 10, 0.0, 0.6, 0.0]])
    poses = decode_yolo(out, YoloLayout.V8, CLASSES, (64, 64), box, (128, 64), 0.25, 0.45)
    np.testing.assert_allclose(poses.xyxy, [[44, 22, 84, 42], [110, 18, 128, 38]])


def test_decode_drops_non_finite_rows_and_empty_outputs():
    out = v8_output([[np.nan, 20, 10, 20, 0.0, 0.9, 0.0], [20, 20, 10, 20, 0.0, np.inf, 0.0]])
    poses = decode_yolo(out, YoloLayout.V8, CLASSES, (64, 64), IDENTITY_64, (64, 64), 0.25, 0.45)
    assert len(poses) == 0
    empty = decode_yolo(
        v8_output([[0] * 7]), YoloLayout.V8, CLASSES, (64, 64), IDENTITY_64, (64, 64), 0.25, 0.45
    )
    assert empty.xyxy.shape == (0, 4) and empty.fallen_scores.shape == (0,)


def test_fallen_score_is_the_max_over_fallen_classes():
    classes = YoloClasses.select(
        ("person", "fallen", "Fall-Action"), ["fallen", "fall-action"], ["person"], "t"
    )
    out = v8_output([[20, 20, 10, 20, 0.9, 0.2, 0.6]])
    poses = decode_yolo(out, YoloLayout.V8, classes, (64, 64), IDENTITY_64, (64, 64), 0.25, 0.45)
    np.testing.assert_allclose(poses.fallen_scores, [0.6])
    np.testing.assert_allclose(poses.scores, [0.9])
