"""Parity with Ultralytics: same photos, same weights, same input size give the same boxes.

Needs the [train] extra (ultralytics, torch) and ../shared/weights; skipped without them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from service.core.config import COCO_MODEL
from tests.conftest import HAS_TRAIN, SAMPLES, SHARED_WEIGHTS
from tests.test_detector import assert_same_boxes
from vision.detections import Detections
from vision.detector import Detector
from vision.imageio import read_image

pytestmark = [
    pytest.mark.train,
    pytest.mark.skipif(not HAS_TRAIN, reason="needs the [train] extra"),
    pytest.mark.skipif(not SHARED_WEIGHTS.is_dir(), reason="needs ../shared/weights"),
]

PHOTOS = sorted(SAMPLES.glob("*.jpg"))


def ultralytics_detections(weights: Path, photo: Path, end2end: bool) -> Detections:
    os.environ.setdefault("YOLO_OFFLINE", "1")
    from ultralytics import YOLO

    # nms=False selects the NMS-free head where there is one; None keeps the dense head with NMS
    result = YOLO(str(weights)).predict(
        str(photo), imgsz=640, conf=0.25, iou=0.7, device="cpu", verbose=False, nms=False if end2end else None
    )[0]
    boxes = result.boxes
    names = tuple(result.names[i] for i in sorted(result.names))
    return Detections(boxes.xyxy.numpy(), boxes.conf.numpy(), boxes.cls.numpy().astype(int), names)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path, bool]]:
    """name -> (ONNX model, the .pt it came from, whether the head is end-to-end)."""
    from training.export import export_onnx

    tmp = tmp_path_factory.mktemp("onnx")
    return {
        "shipped yolo26n": (COCO_MODEL, SHARED_WEIGHTS / "yolo26n.pt", False),
        "yolo26n end-to-end": (
            export_onnx(SHARED_WEIGHTS / "yolo26n.pt", tmp / "yolo26n-e2e.onnx", end2end=True),
            SHARED_WEIGHTS / "yolo26n.pt",
            True,
        ),
        "yolo11n": (
            export_onnx(SHARED_WEIGHTS / "yolo11n.pt", tmp / "yolo11n.onnx"),
            SHARED_WEIGHTS / "yolo11n.pt",
            False,
        ),
    }


@pytest.mark.parametrize("name", ["shipped yolo26n", "yolo26n end-to-end", "yolo11n"])
def test_same_boxes_as_ultralytics(models: dict[str, tuple[Path, Path, bool]], name: str) -> None:
    onnx, weights, end2end = models[name]
    detector = Detector(onnx, providers="cpu")
    assert detector.info.end2end == end2end
    compared = 0
    for photo in PHOTOS:
        ours = detector.detect([read_image(photo)])[0]
        theirs = ultralytics_detections(weights, photo, end2end)
        assert ours.names == theirs.names
        # boxes near the 0.25 threshold may fall either side of it: compare those scoring 0.4+
        assert_same_boxes(ours, theirs, min_score=0.4, min_iou=0.9)
        compared += int((theirs.score >= 0.4).sum())
    assert compared >= 20  # the photos hold enough confident boxes for the check to mean something
