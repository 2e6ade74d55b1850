"""What a lent GPU machine receives: the packed dataset (training/lease_pack.py) and the shipped graph rewritten for
PyTorch (bench/gpu_throughput.py), both checked on real photos."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import yaml

from bench.gpu_throughput import real_batch, torch_compatible
from domain.errors import ImageError
from tests.conftest import ROOT
from training.lease_pack import pack
from vision.imageio import read_image

FIXTURES = ROOT / "tests" / "fixtures"
PHOTOS = sorted(FIXTURES.glob("*.jpg"))
NAMES = {0: "person", 1: "garbage"}


def _dataset(root: Path) -> Path:
    """A built-dataset layout over the real fixture photos: alternate photos in train and val, one box each."""
    for k, photo in enumerate(PHOTOS):
        split = ("train", "val")[k % 2]
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        shutil.copy(photo, root / "images" / split / photo.name)
        (root / "labels" / split / f"{photo.stem}.txt").write_text(f"1 0.5 0.5 0.{k + 1} 0.2\n", encoding="utf-8")
    (root / "images" / "test").mkdir()
    spec = {"path": str(root), "train": "images/train", "val": "images/val", "test": "images/test", "names": NAMES}
    (root / "data.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    return root


def test_pack_deals_scaled_photos_and_same_labels_into_parts(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path / "ds")
    sizes = pack(dataset, tmp_path / "out", parts=2, max_side=256, quality=80)
    packed = sorted((tmp_path / "out").glob("part-*/images/*/*.webp"))
    assert len(packed) == len(PHOTOS) and len(sizes) == 2 and all(size > 0 for size in sizes)
    for image in packed:
        split = image.parent.name
        (oh, ow), (sh, sw) = (read_image(dataset / "images" / split / f"{image.stem}.jpg").pixels.shape[:2],
                              read_image(image).pixels.shape[:2])  # fmt: skip
        assert max(sh, sw) == min(256, max(oh, ow))
        assert abs(sw / sh - ow / oh) < 2 / min(sh, sw)  # the aspect survives the scaling to within a pixel
        label = image.parents[2] / "labels" / split / f"{image.stem}.txt"
        original_label = dataset / "labels" / split / label.name
        assert label.read_text(encoding="utf-8") == original_label.read_text(encoding="utf-8")
    spec = yaml.safe_load((tmp_path / "out" / "part-0" / "data.yaml").read_text(encoding="utf-8"))
    # no path (the merged folder is the root) and no test split (models are judged on the full-size photos)
    assert spec == {"train": "images/train", "val": "images/val", "names": NAMES}


@pytest.mark.parametrize("problem", ["not empty", "unreadable", "no photos"])
def test_pack_refuses_bad_input(tmp_path: Path, problem: str) -> None:
    dataset = _dataset(tmp_path / "ds")
    out = tmp_path / "out"
    error: type[Exception]
    if problem == "not empty":
        out.mkdir()
        (out / "keep.txt").write_text("earlier work", encoding="utf-8")
        error, match = FileExistsError, "not empty"
    elif problem == "unreadable":
        (dataset / "images" / "train" / "broken.jpg").write_bytes(b"not a jpeg")
        error, match = ImageError, "broken.jpg: not an image"
    else:
        for split in ("train", "val"):
            shutil.rmtree(dataset / "images" / split)
            (dataset / "images" / split).mkdir()
        error, match = ValueError, "no train or val photos"
    with pytest.raises(error, match=match):
        pack(dataset, out, parts=2, max_side=256, quality=80)
    if problem == "not empty":
        assert (out / "keep.txt").read_text(encoding="utf-8") == "earlier work"


def test_torch_compatible_graph_computes_the_same_on_real_photos() -> None:
    model = onnx.load(str(ROOT / "models" / "gridwatch-yolo26n.onnx"))
    rewritten = torch_compatible(model)
    onnx.checker.check_model(rewritten)
    assert {o.version for o in rewritten.opset_import if o.domain in ("", "ai.onnx")} == {17}
    reduce_max = [n for n in rewritten.graph.node if n.op_type == "ReduceMax"]
    assert reduce_max and all(len(n.input) == 1 for n in reduce_max)
    probe = real_batch(FIXTURES, 3, 512)
    outputs = []
    for graph in (model, rewritten):
        session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
        outputs.append(session.run(None, {"images": probe})[0])
    np.testing.assert_allclose(outputs[1], outputs[0], rtol=0, atol=1e-4)
