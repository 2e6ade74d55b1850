"""Head decoding and NMS against straightforward reference implementations."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from vision.postprocess import decode_dense, decode_end2end, nms


def reference_nms(
    xyxy: npt.NDArray[np.float32], score: npt.NDArray[np.float32], cls: npt.NDArray[np.int32], iou: float
) -> list[int]:
    """Textbook greedy NMS, one box at a time (test oracle only)."""
    order = list(np.argsort(-score, kind="stable"))
    keep: list[int] = []
    while order:
        i = order.pop(0)
        keep.append(int(i))
        rest = []
        for j in order:
            if cls[j] != cls[i]:
                rest.append(j)
                continue
            x1, y1 = max(xyxy[i, 0], xyxy[j, 0]), max(xyxy[i, 1], xyxy[j, 1])
            x2, y2 = min(xyxy[i, 2], xyxy[j, 2]), min(xyxy[i, 3], xyxy[j, 3])
            inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
            area_i = (xyxy[i, 2] - xyxy[i, 0]) * (xyxy[i, 3] - xyxy[i, 1])
            area_j = (xyxy[j, 2] - xyxy[j, 0]) * (xyxy[j, 3] - xyxy[j, 1])
            if inter / (area_i + area_j - inter) <= iou:
                rest.append(j)
        order = rest
    return keep


def random_boxes(
    rng: np.random.Generator, n: int, classes: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.int32]]:
    xy = rng.uniform(0, 200, (n, 2)).astype(np.float32)
    wh = rng.uniform(10, 80, (n, 2)).astype(np.float32)
    return (
        np.concatenate([xy, xy + wh], 1),
        rng.uniform(0.01, 1, n).astype(np.float32),
        rng.integers(0, classes, n).astype(np.int32),
    )


@pytest.mark.parametrize(
    ("seed", "n", "classes", "iou"), [(0, 50, 1, 0.5), (1, 300, 3, 0.7), (2, 500, 80, 0.45), (3, 2, 1, 0.1)]
)
def test_nms_matches_greedy_reference(seed: int, n: int, classes: int, iou: float) -> None:
    xyxy, score, cls = random_boxes(np.random.default_rng(seed), n, classes)
    assert nms(xyxy, score, cls, iou).tolist() == reference_nms(xyxy, score, cls, iou)


def test_nms_never_suppresses_across_classes() -> None:
    box = np.array([[0, 0, 10, 10]] * 2, np.float32)
    assert sorted(nms(box, np.array([0.9, 0.8], np.float32), np.array([0, 1], np.int32), 0.5).tolist()) == [0, 1]
    assert nms(box, np.array([0.9, 0.8], np.float32), np.array([0, 0], np.int32), 0.5).tolist() == [0]


def test_nms_empty() -> None:
    assert nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int32), 0.5).size == 0


def dense_head(
    boxes_cxcywh: list[list[float]], class_scores: list[list[float]], anchors: int = 20
) -> npt.NDArray[np.float32]:
    """A (4 + C, anchors) dense output with the given predictions in its first columns, zeros elsewhere."""
    nc = len(class_scores[0])
    out = np.zeros((4 + nc, anchors), np.float32)
    for k, (box, scores) in enumerate(zip(boxes_cxcywh, class_scores, strict=True)):
        out[:4, k] = box
        out[4:, k] = scores
    return out


def test_decode_dense_thresholds_converts_and_suppresses() -> None:
    pred = dense_head(
        [[50, 50, 20, 40], [51, 50, 20, 40], [150, 100, 30, 30], [10, 10, 4, 4]],
        [[0.9, 0.1], [0.8, 0.1], [0.2, 0.6], [0.3, 0.1]],
    )
    out = decode_dense(pred, np.array([0.25, 0.5], np.float32), iou=0.7, max_det=100)
    # box 1 overlaps box 0 (same class) and goes; box 3 scores 0.3 >= 0.25 for class 0 and stays
    assert out.class_id.tolist() == [0, 1, 0]
    np.testing.assert_allclose(out.score, [0.9, 0.6, 0.3], rtol=1e-6)
    np.testing.assert_allclose(out.xyxy[0], [40, 30, 60, 70])
    np.testing.assert_allclose(out.xyxy[1], [135, 85, 165, 115])


def test_decode_dense_per_class_threshold_and_max_det() -> None:
    pred = dense_head([[50, 50, 20, 20], [150, 150, 20, 20]], [[0.9, 0.0], [0.0, 0.4]])
    assert decode_dense(pred, np.array([0.5, 0.5], np.float32), 0.7, 100).class_id.tolist() == [0]
    assert decode_dense(pred, np.array([0.5, 0.3], np.float32), 0.7, 100).class_id.tolist() == [0, 1]
    assert decode_dense(pred, np.array([0.1, 0.1], np.float32), 0.7, max_det=1).class_id.tolist() == [0]


def test_decode_end2end_filters_sorts_and_caps() -> None:
    pred = np.array(
        [[0, 0, 10, 10, 0.3, 1], [5, 5, 20, 20, 0.95, 0], [1, 1, 2, 2, 0.1, 0], [0, 0, 1, 1, 0.8, 7]], np.float32
    )
    out = decode_end2end(pred, np.array([0.25, 0.25], np.float32), max_det=300)
    # class 7 is outside the model's two classes: dropped, not an index error
    assert out.class_id.tolist() == [0, 1]
    np.testing.assert_allclose(out.score, [0.95, 0.3], rtol=1e-6)
    np.testing.assert_allclose(out.xyxy, [[5, 5, 20, 20], [0, 0, 10, 10]])
    assert decode_end2end(pred, np.array([0.25, 0.5], np.float32), max_det=300).class_id.tolist() == [0]
    assert len(decode_end2end(pred, np.array([0.0, 0.0], np.float32), max_det=2).score) == 2
