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
    primary, model = Detector(DEFAULT_MODEL, providers="cpu"), Detector(fused, providers="cpu")
    assert (model.names, model.info.imgsz, model.info.thresholds) == (
        primary.names,
        primary.info.imgsz,
        primary.info.thresholds,
    )
    meta = json.loads(model.engine.metadata["fused"])
    assert meta["labels_from_secondary"] == list(VEHICLES) and meta["secondary"] == COCO_MODEL.name


@pytest.mark.parametrize("photo", PHOTOS, ids=lambda p: p.name)
def test_each_label_comes_from_one_model(fused: Path, photo: Path) -> None:
    primary = Detector(DEFAULT_MODEL, providers="cpu", conf=0.1)
    imgsz = primary.info.imgsz
    secondary = Detector(
        COCO_MODEL, providers="cpu", conf=0.1, imgsz=imgsz
    )  # the fused model letterboxes to the primary's size
    model = Detector(fused, providers="cpu", conf=0.1)
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
    meta = json.loads(Detector(out, providers="cpu").engine.metadata["fused"])
    nodes = len(onnx.load(str(DEFAULT_MODEL)).graph.node)
    assert meta["shared_nodes"] == nodes
    assert len(onnx.load(str(out)).graph.node) == nodes + 4


def test_a_network_already_inside_is_not_added_again(fused: Path) -> None:
    """The shipped default already holds the COCO network, so fusing it with that network adds only the tail."""
    import onnx

    meta = json.loads(Detector(fused, providers="cpu").engine.metadata["fused"])
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


EVIDENCE = {"debris": {"couch": 1.0, "bed": 0.9, "chair": 0.5}}


def test_evidence_rows_are_weighted_maxima_of_the_secondary(tmp_path: Path) -> None:
    """The secondary block's debris row is max(weight x COCO score) over the listed classes, on raw outputs."""
    import onnxruntime as ort

    from vision.preprocess import make_batch

    out = tmp_path / "evidence.onnx"
    spec = "debris=" + ",".join(f"{c}:{w}" for c, w in EVIDENCE["debris"].items())
    args = ["fuse", str(DEFAULT_MODEL), str(COCO_MODEL), "--take", ",".join(VEHICLES), "--out", str(out)]
    assert main([*args, "--evidence", spec]) == 0
    model, primary, secondary = (
        Detector(out, providers="cpu"),
        Detector(DEFAULT_MODEL, providers="cpu"),
        Detector(COCO_MODEL, providers="cpu"),
    )
    meta = json.loads(model.engine.metadata["fused"])
    assert meta["evidence_from_secondary"] == EVIDENCE
    blob = make_batch([read_image(p).pixels for p in PHOTOS[:2]], model.info.imgsz, 32, rect=False).blob

    def raw(path: Path) -> np.ndarray:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return np.asarray(session.run(None, {session.get_inputs()[0].name: blob})[0])

    fused, p_raw, s_raw = raw(out), raw(DEFAULT_MODEL), raw(COCO_MODEL)
    n_a = p_raw.shape[2]
    debris = 4 + model.names.index("debris")
    want = np.max(
        [w * s_raw[:, 4 + secondary.names.index(c)] for c, w in EVIDENCE["debris"].items()], axis=0
    )  # (B, N_b)
    np.testing.assert_allclose(fused[:, debris, n_a:], want, atol=1e-5)
    np.testing.assert_allclose(fused[:, debris, :n_a], p_raw[:, debris], atol=1e-5)  # the fine-tune's own
    garbage = 4 + model.names.index("garbage")
    assert not fused[:, garbage, n_a:].any()  # labels without evidence stay the primary's alone
    car = 4 + model.names.index("car")
    np.testing.assert_allclose(fused[:, car, n_a:], s_raw[:, 4 + secondary.names.index("car")], atol=1e-5)
    assert primary.names == model.names


@pytest.mark.parametrize(
    ("evidence", "message"),
    [
        ("debris=sofa", "classes ['sofa'] not in the secondary model"),
        ("debris=", "none given"),
        ("car=couch", "must be a label of the primary model not in --take"),
        ("rubbish=couch", "must be a label of the primary model"),
        ("debris=couch:1.5", "weights must lie in (0, 1]"),
        ("debris=couch:heavy", "expected LABEL=CLASS[:WEIGHT]"),
    ],
)
def test_bad_evidence(tmp_path: Path, capsys: pytest.CaptureFixture[str], evidence: str, message: str) -> None:
    out = tmp_path / "f.onnx"
    args = ["fuse", str(DEFAULT_MODEL), str(COCO_MODEL), "--take", "car", "--out", str(out), "--evidence", evidence]
    assert main(args) != 0
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_a_frozen_stem_rounded_through_fp16_is_still_shared(tmp_path: Path) -> None:
    """The COCO network with its weights rounded to FP16 (as an Ultralytics checkpoint stores a frozen stem) and
    one layer really changed: the rounded weights are snapped back and shared, the changed layer is not."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(COCO_MODEL))
    changed = "model.23.cv3.2.2.weight"  # a classification-head weight a fine-tune would train
    for tensor in model.graph.initializer:
        array = numpy_helper.to_array(tensor)
        if array.dtype == np.float32 and array.size > 1:
            rounded = array.astype(np.float16).astype(np.float32)
            if tensor.name == changed:
                rounded = rounded * 1.1
            tensor.CopyFrom(numpy_helper.from_array(rounded, tensor.name))
    primary = tmp_path / "rounded.onnx"
    onnx.save(model, str(primary))
    out = _fuse(primary, COCO_MODEL, "car", tmp_path / "fused.onnx")
    fused = onnx.load(str(out))
    meta = json.loads({p.key: p.value for p in fused.metadata_props}["fused"])
    weights = {t.name: numpy_helper.to_array(t) for t in fused.graph.initializer}
    coco = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(COCO_MODEL)).graph.initializer}
    assert meta["snapped_weights"] > 100
    assert not np.array_equal(weights[changed], coco[changed])  # a trained layer keeps its own values
    assert np.array_equal(weights["model.0.conv.weight"], coco["model.0.conv.weight"])
    # everything upstream of the changed head branch is computed once
    assert 0 < meta["shared_nodes"] < len(onnx.load(str(COCO_MODEL)).graph.node)
