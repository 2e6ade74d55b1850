"""INT8 quantisation keeps the model's metadata and, on real photos, its detections."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cli.main import main
from service.core.config import COCO_MODEL
from tests.conftest import HAS_TRAIN, SAMPLES
from vision.boxes import box_iou
from vision.detector import Detector
from vision.imageio import read_image

pytestmark = [pytest.mark.train, pytest.mark.skipif(not HAS_TRAIN, reason="needs the [train] extra")]


@pytest.fixture(scope="module")
def int8_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("q") / "int8.onnx"
    # Calibrated on the sample photos: enough for a check of the mechanics, not for shipping.
    assert main(["quantize", str(COCO_MODEL), "--out", str(out), "--calibration", str(SAMPLES)]) == 0
    return out


def test_metadata_survives(int8_model: Path) -> None:
    fp32, int8 = Detector(COCO_MODEL, providers="cpu"), Detector(int8_model, providers="cpu")
    assert int8.info.names == fp32.info.names and int8.info.imgsz == fp32.info.imgsz
    assert int8.info.sha256 != fp32.info.sha256


def test_confident_boxes_survive_quantisation(int8_model: Path) -> None:
    fp32, int8 = Detector(COCO_MODEL, providers="cpu", conf=0.5), Detector(int8_model, providers="cpu", conf=0.3)
    matched = total = 0
    for path in sorted(SAMPLES.glob("*.jpg")):
        image = read_image(path)
        a, b = fp32.detect([image])[0], int8.detect([image])[0]
        total += len(a)
        if len(a) and len(b):
            iou = box_iou(a.xyxy, b.xyxy) * (a.class_id[:, None] == b.class_id[None, :])
            matched += int((iou.max(axis=1) >= 0.7).sum())
    assert total >= 10 and matched / total >= 0.85, (matched, total)


def test_quantize_without_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["quantize", str(COCO_MODEL), "--out", str(tmp_path / "x.onnx"), "--calibration", str(tmp_path)]
    assert main(args) == 2
    assert "calibration images" in capsys.readouterr().err
    assert not np.any([p.suffix == ".onnx" for p in tmp_path.iterdir()])
