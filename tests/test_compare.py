"""Two models on one split (training.compare): the paired bootstrap interval of the AP50 change and its verdict."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.test_metrics import random_scenes
from training.compare import BETTER, UNCLEAR, WORSE, compare, markdown
from training.detections import SplitDetections
from vision.metrics import ImageEval

NAMES = ("garbage", "bin", "graffiti")


def run(images: list[ImageEval], sources: list[str]) -> SplitDetections:
    paths = [Path(f"{source}__{i:04d}.jpg") for i, source in enumerate(sources)]
    return SplitDetections(NAMES, np.ones(len(NAMES), bool), images, paths)


def without_label(images: list[ImageEval], label: int) -> list[ImageEval]:
    """The same images with every detection of ``label`` gone (a model that stopped finding it)."""
    out = []
    for im in images:
        keep = np.asarray(im.det_class) != label
        det = np.asarray(im.det_xyxy).reshape(-1, 4)
        out.append(
            replace(
                im,
                det_xyxy=det[keep],
                det_score=np.asarray(im.det_score)[keep],
                det_class=np.asarray(im.det_class)[keep],
            )
        )
    return out


@pytest.fixture(scope="module")
def split() -> tuple[list[ImageEval], list[str], list[str]]:
    images = random_scenes(np.random.default_rng(7), 120, len(NAMES))
    sources = ["cn"] * 80 + ["gr"] * 40
    clusters = [f"{s}/{i // 4}" for i, s in enumerate(sources)]  # runs of 4 related photos
    return images, sources, clusters


def test_a_model_against_itself_changes_nothing(split: tuple[list[ImageEval], list[str], list[str]]) -> None:
    images, sources, clusters = split
    changes = compare(run(images, sources), run(images, sources), clusters, rounds=200)
    assert {ch.label for ch in changes} == set(NAMES)
    assert {ch.source for ch in changes} == {None, "cn", "gr"}
    for ch in changes:
        assert ch.new == ch.base and ch.low == ch.high == 0.0 and ch.verdict == UNCLEAR


def test_a_label_lost_is_worse_and_the_others_unchanged(split: tuple[list[ImageEval], list[str], list[str]]) -> None:
    images, sources, clusters = split
    changes = compare(run(images, sources), run(without_label(images, 1), sources), clusters, rounds=200)
    by_key = {(ch.label, ch.source): ch for ch in changes}
    lost = by_key["bin", None]
    assert lost.new == 0.0 and lost.base > 0.3 and lost.high < 0 and lost.verdict == WORSE
    assert by_key["garbage", None].verdict == UNCLEAR and by_key["graffiti", "gr"].verdict == UNCLEAR
    # the other way round it is better; rows come label by label, the whole split first
    reverse = compare(run(without_label(images, 1), sources), run(images, sources), clusters, rounds=200)
    assert [(ch.label, ch.source) for ch in reverse][:3] == [("garbage", None), ("garbage", "cn"), ("garbage", "gr")]
    assert {ch.verdict for ch in reverse if ch.label == "bin"} == {BETTER}
    table = markdown(changes, "old.onnx", "new.onnx")
    assert "| bin | **all** |" in table and "| worse |" in table and "old.onnx to new.onnx" in table


def test_a_source_with_few_boxes_gets_no_row_of_its_own(split: tuple[list[ImageEval], list[str], list[str]]) -> None:
    images, sources, clusters = split
    changes = compare(run(images, sources), run(images, sources), clusters, rounds=10, min_instances=10_000)
    assert {ch.source for ch in changes} == {None}


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda base, other, clusters: (base, replace(other, paths=other.paths[::-1]), clusters), "not of the same"),
        (lambda base, other, clusters: (base, other, clusters[:-1]), "clusters for"),
    ],
)
def test_refuses_runs_that_do_not_pair(
    split: tuple[list[ImageEval], list[str], list[str]], mangle: object, message: str
) -> None:
    images, sources, clusters = split
    base, other, cl = mangle(run(images, sources), run(images, sources), clusters)  # type: ignore[operator]
    with pytest.raises(ValueError, match=message):
        compare(base, other, cl)


def test_refuses_zero_rounds(split: tuple[list[ImageEval], list[str], list[str]]) -> None:
    images, sources, clusters = split
    with pytest.raises(ValueError, match="at least one"):
        compare(run(images, sources), run(images, sources), clusters, rounds=0)
