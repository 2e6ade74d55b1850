"""``gridwatch fuse``: labels scored by a second model, every box equal to the model that scored it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cli.main import main
from service.core.config import COCO_MODEL, DEFAULT_MODEL
from tests.conftest import HAS_TRAIN, SAMPLES
from vision.detections import Detections
from vision.detector import Detector
from vision.imageio import read_image

pytestmark = [pytest.mark.train, pytest.mark.skipif(not HAS_TRAIN, reason="needs the [train] extra (onnx)")]

VEHICLES = ("person", "car", "truck", "bus", "motorcycle", "bicycle")
PHOTOS = sorted(SAMPLES.glob("*.jpg"))


def _fuse(primary: Path, secondary: Path, take: str, out: Path) -> Path:
    assert main(["fuse", str(primary), str(secondary), "--take", take, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def fused(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _fuse(DEFAULT_MODEL, COCO_MODEL, ",".join(VEHICLES), tmp_path_factory.mktemp("fuse") / "fused.onnx")


def _named(det: Detections, names: tuple[str, ...], keep: set[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    labels = np.array([names[c] for c in det.class_id], dtype=object)
    mask = np.isin(labels, list(keep))
    order = np.lexsort((det.xyxy[mask, 0], det.score[mask]))
    return det.xyxy[mask][order], det.score[mask][order], list(labels[mask][order])


def test_fused_keeps_the_primary_labels_and_metadata(fused: Path) -> None:
    primary, model = Detector(DEFAULT_MODEL), Detector(fused)
    assert (model.names, model.info.imgsz, model.info.thresholds) == (
        primary.names,
        primary.info.imgsz,
        primary.info.thresholds,
    )
    meta = json.loads(model.session.get_modelmeta().custom_metadata_map["fused"])
    assert meta["labels_from_secondary"] == list(VEHICLES) and meta["secondary"] == COCO_MODEL.name


@pytest.mark.parametrize("photo", PHOTOS, ids=lambda p: p.name)
def test_each_label_comes_from_one_model(fused: Path, photo: Path) -> None:
    primary = Detector(DEFAULT_MODEL, conf=0.1)
    imgsz = primary.info.imgsz
    secondary = Detector(COCO_MODEL, conf=0.1, imgsz=imgsz)  # the fused model letterboxes to the primary's size
    model = Detector(fused, conf=0.1)
    image = read_image(photo)
    got, want_p, want_s = (d.detect([image])[0] for d in (model, primary, secondary))
    violations = set(primary.names) - set(VEHICLES)
    for want, names, labels in ((want_p, primary.names, violations), (want_s, secondary.names, set(VEHICLES))):
        xyxy, score, found = _named(got, model.names, labels)
        ref_xyxy, ref_score, ref_found = _named(want, names, labels)
        assert found == ref_found
        np.testing.assert_allclose(score, ref_score, atol=1e-4)
        np.testing.assert_allclose(xyxy, ref_xyxy, atol=0.05)


def test_identical_computation_is_shared(tmp_path: Path) -> None:
    """A model fused with itself computes its graph once: only the fusing tail is added."""
    import onnx

    out = _fuse(DEFAULT_MODEL, DEFAULT_MODEL, "car", tmp_path / "self.onnx")
    meta = json.loads(Detector(out).session.get_modelmeta().custom_metadata_map["fused"])
    nodes = len(onnx.load(str(DEFAULT_MODEL)).graph.node)
    assert meta["shared_nodes"] == nodes
    assert len(onnx.load(str(out)).graph.node) == nodes + 4


def test_a_network_already_inside_is_not_added_again(fused: Path) -> None:
    """The shipped default already holds the COCO network, so fusing it with that network adds only the tail."""
    import onnx

    meta = json.loads(Detector(fused).session.get_modelmeta().custom_metadata_map["fused"])
    assert meta["shared_nodes"] == len(onnx.load(str(COCO_MODEL)).graph.node)
    assert len(onnx.load(str(fused)).graph.node) == len(onnx.load(str(DEFAULT_MODEL)).graph.node) + 4


@pytest.mark.parametrize(
    ("take", "message"),
    [
        ("car,garbage", "labels to take must be in both models: ['garbage']"),
        ("car,traffic light", "['traffic light']"),
        (",", "none given"),
    ],
)
def test_bad_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str], take: str, message: str) -> None:
    out = tmp_path / "f.onnx"
    assert main(["fuse", str(DEFAULT_MODEL), str(COCO_MODEL), "--take", take, "--out", str(out)]) != 0
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_not_a_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00not a model")
    assert main(["fuse", str(DEFAULT_MODEL), str(bad), "--take", "car", "--out", str(tmp_path / "f.onnx")]) != 0
    assert "not a readable ONNX model" in capsys.readouterr().err
