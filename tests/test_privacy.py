"""Privacy blur on real photos: heads of detected people and the plate band of detected vehicles change strongly,
everything else stays as it was; without detections the whole picture is pixelated."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import SAMPLES
from vision.detections import Detections
from vision.detector import Detector
from vision.imageio import read_image
from vision.privacy import blur_private, private_regions


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def local_detail(a: np.ndarray) -> float:
    """Mean absolute difference between horizontal neighbours: what pixelation removes."""
    return float(np.abs(np.diff(a.astype(np.int16), axis=1)).mean())


@pytest.mark.parametrize("photo", ["cyclists_street.jpg", "spb_facade_parked_cars.jpg", "bin_point_street.jpg"])
def test_heads_and_plates_are_destroyed_and_the_rest_is_untouched(photo: str, detector: Detector) -> None:
    image = read_image(SAMPLES / photo)
    detections = detector.detect([image])[0]
    h, w = image.pixels.shape[:2]
    regions = private_regions(detections, w, h)
    labels = set(detections.labels)
    assert labels & {"person", "car", "truck", "bus", "motorcycle"}, f"the sample shows people or vehicles: {labels}"
    assert regions
    out = blur_private(image.pixels, detections)
    mask = np.zeros((h, w), bool)
    for x1, y1, x2, y2 in regions:
        region, before = out[y1:y2, x1:x2], image.pixels[y1:y2, x1:x2]
        assert local_detail(region) < 0.5 * local_detail(before) + 1.0, "detail inside a private region survives"
        mask[y1:y2, x1:x2] = True
    assert np.array_equal(out[~mask], image.pixels[~mask]), "pixels outside private regions changed"
    assert out is not image.pixels and out.shape == image.pixels.shape


def test_head_region_is_the_top_of_a_person_box_and_plate_band_the_bottom_of_a_car() -> None:
    boxes = Detections(
        np.array([[100, 100, 140, 260], [300, 200, 500, 300], [10, 10, 50, 50]], np.float32),
        np.array([0.9, 0.9, 0.9], np.float32),
        np.array([0, 2, 5], np.int32),
        ("person", "bicycle", "car", "motorcycle", "bus", "bin"),
    )
    head, plate = private_regions(boxes, 640, 480)
    assert head[1] < 100 and head[3] <= 100 + 0.3 * 160 and head[0] < 100 and head[2] > 140
    assert plate[1] >= 250 and plate[3] >= 300 and plate[0] <= 300 and plate[2] >= 500


def test_without_detections_everything_is_pixelated() -> None:
    image = read_image(SAMPLES / "cyclists_street.jpg").pixels
    out = blur_private(image, None)
    assert local_detail(out) < 0.3 * local_detail(image)
    assert mean_abs_diff(out, image) > 3
