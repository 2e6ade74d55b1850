"""Reviewed ground truth (``gridwatch eval --reviewed``): the strict file schema and how it changes scoring."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from datasets.sources import SOURCES
from domain.taxonomy import LABEL_NAMES
from training.detections import SplitDetections
from training.reviewed import ReviewedLabels, apply_reviewed, inside_fraction, load_reviewed
from vision.metrics import ImageEval, evaluate

COMMITTED = Path(__file__).resolve().parents[1] / "datasets" / "reviewed" / "vehicles-test.json"
CAR, GARBAGE = LABEL_NAMES.index("car"), LABEL_NAMES.index("garbage")
ALL = np.ones(len(LABEL_NAMES), dtype=bool)

VALID: dict[str, Any] = {
    "schema_version": 1,
    "split": "test",
    "labels": ["car", "bicycle"],
    "made_by": "test",
    "method": "by hand",
    "empty_boxes": "reviewed, none present",
    "images": {
        "a__1.jpg": {"boxes": [["car", 10, 10, 50, 40]], "ignore": [[60, 60, 80, 80]]},
        "a__2.jpg": {"boxes": []},
    },
}


def edited(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """A copy of :data:`VALID` with the value at ``path`` replaced (or added)."""
    doc = copy.deepcopy(VALID)
    node: Any = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


def test_the_valid_example_validates() -> None:
    reviewed = ReviewedLabels.model_validate(VALID)
    assert reviewed.images["a__2.jpg"].boxes == [] and reviewed.images["a__2.jpg"].ignore == []


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (edited(("images", "a__1.jpg", "boxes", 0, 0), "truck"), "not among the file's labels"),
        (edited(("images", "a__1.jpg", "boxes", 0, 0), "lorry"), "not among the file's labels"),
        (edited(("labels",), ["car", "lorry"]), "unknown labels"),
        (edited(("labels",), ["car", "car"]), "duplicate labels"),
        (edited(("labels",), []), "at least 1"),
        (edited(("images", "a__1.jpg", "boxes", 0), ["car", 50, 10, 10, 40]), "x1 < x2"),
        (edited(("images", "a__1.jpg", "boxes", 0), ["car", 10, 40, 50, 40]), "y1 < y2"),
        (edited(("images", "a__1.jpg", "boxes", 0), ["car", -1, 10, 50, 40]), "greater than or equal to 0"),
        (edited(("images", "a__1.jpg", "boxes", 0), ["car", 10, 10, 50]), "Field required"),
        (edited(("images", "a__1.jpg", "ignore", 0), [80, 60, 60, 80]), "x1 < x2"),
        (edited(("images", "a__1.jpg", "ignore", 0), [60, 60, 80, "nan"]), "finite number"),
        (edited(("images", "a__1.jpg", "note"), "x"), "Extra inputs are not permitted"),
        (edited(("reviewer",), "x"), "Extra inputs are not permitted"),
        (edited(("schema_version",), 2), "Input should be 1"),
        (edited(("split",), "all"), "Input should be 'train', 'val' or 'test'"),
        (edited(("conventions",), {"bus": "buses"}), "conventions for labels the file does not cover"),
        (edited(("images",), {}), "at least 1"),
        ({k: v for k, v in VALID.items() if k != "method"}, "Field required"),
    ],
)
def test_strict_validation_refuses(doc: dict[str, Any], message: str, tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ValueError, match=message) as info:
        load_reviewed(path)
    assert str(path) in str(info.value)


def test_the_committed_file_validates() -> None:
    reviewed = load_reviewed(COMMITTED)
    assert reviewed.split == "test"
    assert reviewed.labels == ["car", "truck", "bus", "motorcycle", "bicycle"]
    assert len(reviewed.images) >= 100
    # keyed by the builder's SOURCE__stem file names, from known sources
    assert {name.split("__", 1)[0] for name in reviewed.images} <= set(SOURCES)
    assert sum(len(im.boxes) for im in reviewed.images.values()) > 0


def split(*images: tuple[str, ImageEval]) -> SplitDetections:
    """A split's ground truth and detections in the taxonomy's label space, every label in the model."""
    return SplitDetections(LABEL_NAMES, ALL.copy(), [im for _, im in images], [Path("ds", n) for n, _ in images])


def image(
    gt: Sequence[tuple[int, Sequence[float]]] = (), det: Sequence[tuple[int, float, Sequence[float]]] = ()
) -> ImageEval:
    """One image: ground truth as (class, xyxy), detections as (class, score, xyxy); every label labelled."""
    return ImageEval(
        np.array([b for _, b in gt], np.float64).reshape(-1, 4),
        np.array([c for c, _ in gt], np.int64),
        np.array([b for _, _, b in det], np.float64).reshape(-1, 4),
        np.array([s for _, s, _ in det], np.float64),
        np.array([c for c, _, _ in det], np.int64),
        ALL.copy(),
    )


def reviewed(images: dict[str, Any], labels: tuple[str, ...] = ("car",)) -> ReviewedLabels:
    return ReviewedLabels.model_validate({**VALID, "labels": list(labels), "images": images})


def car_ap50(found: SplitDetections) -> float:
    return float(evaluate(found.images, np.full(len(LABEL_NAMES), 0.25)).ap50[CAR])


CAR_A, CAR_B = [10.0, 10.0, 50.0, 40.0], [100.0, 100.0, 140.0, 130.0]


def test_a_detection_in_an_ignore_box_is_not_a_false_positive() -> None:
    # the top-scoring car detection sits on a vehicle the reviewer could not box
    found = split(("a__1.jpg", image(det=[(CAR, 0.9, CAR_B), (CAR, 0.8, CAR_A)])))
    boxes = {"boxes": [["car", *CAR_A]]}
    without = apply_reviewed(found, reviewed({"a__1.jpg": boxes}))
    with_ignore = apply_reviewed(found, reviewed({"a__1.jpg": {**boxes, "ignore": [[95, 95, 150, 135]]}}))
    assert car_ap50(without) < 0.6
    assert car_ap50(with_ignore) == pytest.approx(1.0)
    assert len(np.asarray(with_ignore.images[0].det_score)) == 1


def test_a_detection_only_partly_inside_an_ignore_box_still_counts() -> None:
    found = split(("a__1.jpg", image(det=[(CAR, 0.9, CAR_B), (CAR, 0.8, CAR_A)])))
    # the ignore box covers 40 % of CAR_B's area: below the 50 % rule, so it stays a false positive
    out = apply_reviewed(found, reviewed({"a__1.jpg": {"boxes": [["car", *CAR_A]], "ignore": [[100, 100, 116, 130]]}}))
    assert len(np.asarray(out.images[0].det_score)) == 2
    assert car_ap50(out) < 0.6


def test_a_missed_reviewed_box_lowers_recall_and_reviewed_boxes_replace_the_dataset() -> None:
    # the dataset (pseudo-labels) boxes a car at CAR_B only; the reviewer found cars at CAR_A and CAR_B
    found = split(("a__1.jpg", image(gt=[(CAR, CAR_B)], det=[(CAR, 0.9, CAR_B)])))
    assert car_ap50(found) == pytest.approx(1.0)
    out = apply_reviewed(found, reviewed({"a__1.jpg": {"boxes": [["car", *CAR_A], ["car", *CAR_B]]}}))
    metrics = evaluate(out.images, np.full(len(LABEL_NAMES), 0.25))
    assert metrics.instances[CAR] == 2
    assert metrics.ap50[CAR] == pytest.approx(51 / 101)  # precision 1 up to recall 0.5, nothing beyond


def test_an_empty_reviewed_list_turns_dataset_boxes_into_false_positives() -> None:
    found = split(
        ("a__1.jpg", image(gt=[(CAR, CAR_A)], det=[(CAR, 0.9, CAR_A)])),
        ("a__2.jpg", image(gt=[(CAR, CAR_B)], det=[(CAR, 0.95, CAR_B)])),  # a dataset box the reviewer rejected
    )
    out = apply_reviewed(found, reviewed({"a__1.jpg": {"boxes": [["car", *CAR_A]]}, "a__2.jpg": {"boxes": []}}))
    metrics = evaluate(out.images, np.full(len(LABEL_NAMES), 0.25))
    assert metrics.instances[CAR] == 1 and metrics.negatives[CAR] == 1
    assert metrics.ap50[CAR] < 0.6


def test_labels_outside_the_file_are_not_scored_and_other_images_are_dropped() -> None:
    found = split(
        ("a__1.jpg", image(gt=[(GARBAGE, CAR_B)], det=[(CAR, 0.9, CAR_A), (GARBAGE, 0.9, [0, 0, 5, 5])])),
        ("a__2.jpg", image(gt=[(CAR, CAR_A)])),  # not in the file: a missed car that must not count
    )
    out = apply_reviewed(found, reviewed({"a__1.jpg": {"boxes": [["car", *CAR_A]]}}))
    assert [p.name for p in out.paths] == ["a__1.jpg"]
    assert [n for n, ok in zip(LABEL_NAMES, out.in_model, strict=True) if ok] == ["car"]
    metrics = evaluate(out.images, np.full(len(LABEL_NAMES), 0.25))
    assert metrics.instances[GARBAGE] == 0 and np.isnan(metrics.ap50[GARBAGE])
    assert metrics.negatives[GARBAGE] == 0  # the garbage false alarm is not counted either
    assert metrics.instances[CAR] == 1 and metrics.ap50[CAR] == pytest.approx(1.0)


def test_reviewed_images_missing_from_the_split_are_named() -> None:
    found = split(("a__1.jpg", image()))
    with pytest.raises(ValueError, match=r"not in this split: a__3\.jpg, b__9\.jpg"):
        apply_reviewed(
            found, reviewed({"a__1.jpg": {"boxes": []}, "b__9.jpg": {"boxes": []}, "a__3.jpg": {"boxes": []}})
        )


def test_inside_fraction() -> None:
    boxes = [[0, 0, 10, 10], [0, 0, 10, 10], [5, 5, 5, 9]]
    regions = [[5, 0, 20, 10], [0, 0, 10, 2]]
    np.testing.assert_allclose(inside_fraction(boxes, regions), [0.5, 0.5, 0.0])
    np.testing.assert_allclose(inside_fraction(boxes, np.zeros((0, 4))), [0.0, 0.0, 0.0])
