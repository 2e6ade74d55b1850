"""The Detections value type: validation, indexing, filtering, merging."""

from __future__ import annotations

import numpy as np
import pytest

from vision.detections import Detections

NAMES = ("person", "car", "bicycle")


def make(scores: list[float], classes: list[int]) -> Detections:
    n = len(scores)
    xyxy = np.arange(n * 4, dtype=np.float32).reshape(n, 4) + np.array([0, 0, 10, 20], np.float32)
    return Detections(xyxy, np.array(scores), np.array(classes), NAMES)


def test_arrays_are_normalised_to_dtypes_and_shapes() -> None:
    det = Detections([[1, 2, 3, 4]], [0.5], [1], list(NAMES))  # type: ignore[arg-type]
    assert det.xyxy.dtype == np.float32 and det.xyxy.shape == (1, 4)
    assert det.score.dtype == np.float32 and det.class_id.dtype == np.int32
    assert det.names == NAMES
    assert det.labels == ["car"]


@pytest.mark.parametrize(
    ("xyxy", "score", "class_id", "message"),
    [
        (np.zeros((2, 4)), np.zeros(3), np.zeros(2), "differ in length"),
        (np.zeros((2, 4)), np.zeros(2), np.zeros(1), "differ in length"),
        (np.zeros((1, 4)), np.zeros(1), np.array([3]), "out of range"),
        (np.zeros((1, 4)), np.zeros(1), np.array([-1]), "out of range"),
    ],
)
def test_invalid_arrays_are_rejected(xyxy: np.ndarray, score: np.ndarray, class_id: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Detections(xyxy, score, class_id, NAMES)


def test_empty() -> None:
    det = Detections.empty(NAMES)
    assert len(det) == 0 and det.xyxy.shape == (0, 4) and det.labels == []


@pytest.mark.parametrize(
    ("index", "expected_scores"),
    [
        (np.array([True, False, True]), [0.9, 0.3]),
        (np.array([2, 0]), [0.3, 0.9]),
        (slice(1, None), [0.6, 0.3]),
        (1, [0.6]),
    ],
)
def test_indexing_keeps_arrays_parallel(index: object, expected_scores: list[float]) -> None:
    det = make([0.9, 0.6, 0.3], [0, 1, 2])
    sub = det[index]  # type: ignore[index]
    np.testing.assert_allclose(sub.score, expected_scores, rtol=1e-6)
    for s, cls, box in zip(sub.score, sub.class_id, sub.xyxy, strict=True):
        i = int(np.flatnonzero(np.isclose(det.score, s))[0])
        assert cls == det.class_id[i] and np.array_equal(box, det.xyxy[i])


@pytest.mark.parametrize(
    ("min_score", "labels", "expected"),
    [
        (0.5, None, ["person", "car"]),
        (np.array([0.95, 0.1, 0.1], np.float32), None, ["car", "bicycle"]),
        (None, ["car", "bicycle"], ["car", "bicycle"]),
        (0.5, ["bicycle"], []),
    ],
)
def test_filter(min_score: float | np.ndarray | None, labels: list[str] | None, expected: list[str]) -> None:
    det = make([0.9, 0.6, 0.3], [0, 1, 2])
    assert det.filter(min_score=min_score, labels=labels).labels == expected


def test_filter_unknown_label_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown labels"):
        make([0.9], [0]).filter(labels=["tank"])


def test_merge_concatenates_and_checks_names() -> None:
    merged = Detections.merge([make([0.9], [0]), make([0.4, 0.2], [1, 2])])
    assert merged.labels == ["person", "car", "bicycle"]
    other = Detections(np.zeros((1, 4)), np.ones(1), np.zeros(1), ("dog",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="different class names"):
        Detections.merge([make([0.9], [0]), other])


def test_area() -> None:
    det = Detections(np.array([[0, 0, 10, 20], [5, 5, 4, 4]]), np.ones(2), np.zeros(2), NAMES)  # type: ignore[arg-type]
    np.testing.assert_allclose(det.area, [200, 0])
