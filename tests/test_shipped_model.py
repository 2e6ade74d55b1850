"""The shipped default model: its contract (labels, thresholds) and what it finds in real held-out photos."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from cli.main import main
from domain.taxonomy import LABEL_NAMES
from service.core.config import COCO_MODEL, DEFAULT_MODEL
from tests.test_dataset_build import DATA, needs_data
from vision.detector import Detector

# Photos of the test split of `gridwatch dataset build` (never trained on), with what a person sees in them.
HELD_OUT = {
    "graffiti_gr/IMG_20180724_124135.jpg": {"graffiti", "car"},
    "garbage_bin_overflow_cn/000275_jpg.rf.f71f54176bdcf9c0a000418e9512c107.jpg": {"garbage", "bin_overflow", "car"},
    "maltese_trashbags/11_jpeg.rf.4412c1777501e30a843a0363a39bd2ae.jpg": {"garbage", "car"},
}


def test_labels_and_thresholds_are_the_taxonomy() -> None:
    info = Detector(DEFAULT_MODEL, providers="cpu").info
    assert info.names == LABEL_NAMES
    assert set(info.thresholds) == set(LABEL_NAMES)
    assert all(0.1 <= t <= 0.9 for t in info.thresholds.values())


def test_vehicles_and_people_are_scored_by_the_shipped_coco_model() -> None:
    """The default model is the fine-tune fused with the COCO model bundled beside it (gridwatch fuse).

    Every label COCO covers comes from the COCO network (issue 12: the fine-tune beats it on no reviewed set of
    50 boxes), and COCO's furniture classes are a second opinion for debris.
    """
    fused = json.loads(Detector(DEFAULT_MODEL, providers="cpu").engine.metadata["fused"])
    assert fused["secondary_sha256"] == hashlib.sha256(COCO_MODEL.read_bytes()).hexdigest()
    assert fused["labels_from_secondary"] == ["person", "car", "truck", "bus", "motorcycle", "bicycle"]
    assert set(fused["evidence_from_secondary"]["debris"]) == {"couch", "bed", "chair", "dining table", "refrigerator"}
    assert fused["shared_nodes"] > 0  # the COCO network already inside runs once


def _find(relative: str) -> Path:
    source, name = relative.split("/", 1)
    matches = sorted((DATA / source).rglob(name))
    assert len(matches) == 1, relative
    return matches[0]


@needs_data
def test_detect_finds_garbage_graffiti_and_vehicles(capsys: pytest.CaptureFixture[str]) -> None:
    paths = {rel: _find(rel) for rel in HELD_OUT}
    assert main(["detect", *map(str, paths.values()), "--format", "jsonl", "--no-progress"]) == 0
    found = {}
    for line in capsys.readouterr().out.splitlines():
        record = json.loads(line)
        found[record["path"]] = {d["label"] for d in record["detections"]}
    for rel, path in paths.items():
        assert HELD_OUT[rel] <= found[str(path)], (rel, found[str(path)])
