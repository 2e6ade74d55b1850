"""``gridwatch unfuse``: the shipped ONNX becomes a trainable checkpoint that computes the same network again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cli.main import main
from service.core.config import COCO_MODEL, DEFAULT_MODEL
from tests.conftest import HAS_TRAIN, SAMPLES, SHARED_WEIGHTS
from vision.detector import Detector
from vision.imageio import read_image
from vision.preprocess import make_batch

pytestmark = [pytest.mark.train, pytest.mark.skipif(not HAS_TRAIN, reason="needs the [train] extra")]

PHOTOS = sorted(SAMPLES.glob("*.jpg"))
BASE = SHARED_WEIGHTS / "yolo26n.pt"


def _unfuse(model: Path, out: Path) -> Path:
    assert main(["unfuse", str(model), "--out", str(out), "--images", str(SAMPLES), "--base", str(BASE)]) == 0
    return out


def _dense(checkpoint: Path, blob: np.ndarray) -> np.ndarray:
    """(B, 4 + C, N) dense-head output of a checkpoint in eval mode."""
    import torch
    from ultralytics import YOLO

    net = YOLO(str(checkpoint)).model.float().eval()
    with torch.no_grad():
        out = net(torch.from_numpy(blob))
    dense: np.ndarray = (out[0] if isinstance(out, (list, tuple)) else out).numpy()
    return dense


def test_the_shipped_model_comes_back(tmp_path: Path) -> None:
    """The fused shipped model's own network (not the COCO half) computes what the ONNX computes."""
    import onnxruntime as ort

    checkpoint = _unfuse(DEFAULT_MODEL, tmp_path / "shipped.pt")
    blob = make_batch([read_image(p, target=512).pixels for p in PHOTOS[:4]], 512, 32, rect=False).blob
    session = ort.InferenceSession(str(DEFAULT_MODEL), providers=["CPUExecutionProvider"])
    want = session.run(None, {session.get_inputs()[0].name: blob})[0]
    got = _dense(checkpoint, blob)
    own = got.shape[2]  # the primary network's anchors come first in the fused output
    names = Detector(DEFAULT_MODEL).names
    rows = [4 + i for i, name in enumerate(names) if name in ("garbage", "bin", "bin_overflow", "graffiti", "poster")]
    np.testing.assert_allclose(got[:, rows], want[:, rows, :own], atol=5e-3)
    np.testing.assert_allclose(got[:, :4], want[:, :4, :own], atol=2.0)  # input pixels, of 512


def test_round_trip_through_export_keeps_the_detections(tmp_path: Path) -> None:
    """unfuse, then export again: the same boxes and scores on real photos."""
    from training.export import export_onnx

    checkpoint = _unfuse(COCO_MODEL, tmp_path / "coco.pt")
    again = export_onnx(checkpoint, tmp_path / "again.onnx", imgsz=Detector(COCO_MODEL).info.imgsz)
    before, after = Detector(COCO_MODEL), Detector(again)
    assert after.names == before.names
    for photo in PHOTOS:
        image = read_image(photo)
        want, got = before.detect([image])[0], after.detect([image])[0]
        assert list(got.class_id) == list(want.class_id), photo.name
        np.testing.assert_allclose(got.score, want.score, atol=5e-3)
        np.testing.assert_allclose(got.xyxy, want.xyxy, atol=2.0)


def test_training_mode_starts_near_the_exported_network(tmp_path: Path) -> None:
    """BN statistics from real photos: with batch statistics on, the backbone computes nearly what it did folded.

    (With each BN set to the identity plus the folded bias instead, batch normalisation rescales every channel to
    unit variance and the relative difference is of the order of 1.)
    """
    import torch
    from ultralytics import YOLO

    checkpoint = _unfuse(COCO_MODEL, tmp_path / "coco.pt")
    backbone = YOLO(str(checkpoint)).model.float().model[:10]  # sequential layers, input to stride-32 features
    blob = torch.from_numpy(make_batch([read_image(p, target=640).pixels for p in PHOTOS], 640, 32, rect=False).blob)
    with torch.no_grad():
        folded = backbone.eval()(blob)
        batch_stats = backbone.train()(blob)
    relative = float((batch_stats - folded).norm() / folded.norm())
    assert relative < 0.25, relative


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\x00not a model", "not a readable ONNX model")],
)
def test_not_a_model(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(content)
    assert main(["unfuse", str(bad), "--out", str(tmp_path / "x.pt"), "--images", str(SAMPLES)]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.pt").exists()


def test_images_must_be_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["unfuse", str(COCO_MODEL), "--out", str(tmp_path / "x.pt"), "--images", str(tmp_path / "none")]
    assert main(args) == 2
    assert "not a folder" in capsys.readouterr().err
