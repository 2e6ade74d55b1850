"""FP16 copies of ONNX models (for GPU inference) keep metadata and detections, and need no GPU to make."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cli.main import main
from service.core.config import DEFAULT_MODEL
from tests.conftest import HAS_TRAIN, SAMPLES
from vision.boxes import box_iou
from vision.detections import Detections
from vision.detector import Detector
from vision.imageio import read_image

pytestmark = [pytest.mark.train, pytest.mark.skipif(not HAS_TRAIN, reason="needs the [train] extra (onnx)")]

# FP16 arithmetic runs on the CPU here only as a reference implementation (slowly): a small input keeps it short.
IMGSZ = 320
PHOTOS = sorted(SAMPLES.glob("*.jpg"))[:4]


@pytest.fixture(scope="module")
def half_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("half") / "half.onnx"
    assert main(["export", str(DEFAULT_MODEL), "--out", str(out), "--half"]) == 0
    return out


def _detect(model: Path, conf: float) -> list[Detections]:
    detector = Detector(model, conf=conf, imgsz=IMGSZ, providers="cpu")
    return [detector.detect([read_image(p)])[0] for p in PHOTOS]


def _assert_same_boxes(reference: list[Detections], candidate: list[Detections]) -> None:
    """Every confident reference box has a same-label candidate box at IoU >= 0.9 with a close score."""
    total = 0
    for ref, cand in zip(reference, candidate, strict=True):
        confident = ref[ref.score >= 0.4]
        total += len(confident)
        if not len(confident):
            continue
        iou = box_iou(confident.xyxy, cand.xyxy) * (confident.class_id[:, None] == cand.class_id[None, :])
        best = iou.argmax(axis=1)
        assert (iou.max(axis=1) >= 0.9).all()
        assert np.abs(cand.score[best] - confident.score).max() < 0.05
    assert total > 0  # the photos hold confident boxes, so the comparison compared something


def test_half_copy_keeps_metadata_and_fp32_io(half_model: Path) -> None:
    fp32, fp16 = Detector(DEFAULT_MODEL, providers="cpu"), Detector(half_model, providers="cpu")
    assert (fp16.info.names, fp16.info.imgsz, fp16.info.thresholds) == (
        fp32.info.names,
        fp32.info.imgsz,
        fp32.info.thresholds,
    )
    assert fp16.engine.input_dtype is np.float32
    assert half_model.stat().st_size < 0.6 * DEFAULT_MODEL.stat().st_size


def test_half_copy_finds_the_same_objects(half_model: Path) -> None:
    _assert_same_boxes(_detect(DEFAULT_MODEL, 0.1), _detect(half_model, 0.1))


def test_fp16_input_models_are_fed_fp16(tmp_path: Path) -> None:
    """Ultralytics' own half exports take an FP16 input; the detector casts its input to match."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    out = tmp_path / "fp16-io.onnx"
    onnx.save(convert_float_to_float16(onnx.load(str(DEFAULT_MODEL)), keep_io_types=False), str(out))
    assert Detector(out, providers="cpu").engine.input_dtype is np.float16
    _assert_same_boxes(_detect(DEFAULT_MODEL, 0.1), _detect(out, 0.1))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--half"], "not a readable ONNX model"),  # garbage bytes named .onnx
        ([], "already ONNX"),  # an ONNX model without --half: nothing to export
    ],
)
def test_bad_half_requests(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    src = tmp_path / "model.onnx"
    src.write_bytes(b"not a model")
    out = tmp_path / "out.onnx"
    assert main(["export", str(src), "--out", str(out), *args]) != 0
    assert message in capsys.readouterr().err
    assert not out.exists()
