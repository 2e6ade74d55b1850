"""Difference hashes on the bundled real photos, and grouping of near-duplicate hashes."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from datasets import dedup
from datasets.dedup import dhash, find_duplicates, hamming

SAMPLES = sorted((Path(__file__).resolve().parents[1] / "samples").glob("*.jpg"))


def _read(path: Path) -> npt.NDArray[np.uint8]:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    return np.asarray(image, dtype=np.uint8)


def _recode(image: npt.NDArray[np.uint8], scale: float, quality: int) -> npt.NDArray[np.uint8]:
    """A resized JPEG re-encode, as another dataset's copy of the photo would be."""
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR), dtype=np.uint8)


@pytest.fixture(scope="module")
def images() -> list[npt.NDArray[np.uint8]]:
    if len(SAMPLES) < 2:
        pytest.skip("needs the bundled sample photos in samples/")
    return [_read(p) for p in SAMPLES]


def test_dhash_is_64_bit_and_deterministic(images: list[npt.NDArray[np.uint8]]) -> None:
    for image in images:
        h = dhash(image)
        assert 0 <= h < 2**64
        assert dhash(image.copy()) == h
        assert dhash(np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), dtype=np.uint8)) == h


def test_dhash_bits_follow_brightness() -> None:
    ramp = np.tile(np.arange(0, 250, 25, dtype=np.uint8)[None, :9], (8, 1))  # brighter to the right
    assert dhash(ramp) == 2**64 - 1
    assert dhash(ramp[:, ::-1].copy()) == 0
    with pytest.raises(ValueError, match="shape"):
        dhash(np.zeros((4, 4, 4), dtype=np.uint8))


@pytest.mark.parametrize(("scale", "quality"), [(1.0, 40), (0.5, 72), (0.3, 50)])
def test_recoded_copy_is_close(images: list[npt.NDArray[np.uint8]], scale: float, quality: int) -> None:
    # Measured: 0..7 bits (the fine-grained car park is the worst); distinct photos are 26+ apart.
    for image in images:
        assert hamming(dhash(image), dhash(_recode(image, scale, quality))) <= 8


def test_different_photos_are_far(images: list[npt.NDArray[np.uint8]]) -> None:
    hashes = [dhash(image) for image in images]
    # Measured on the samples: 26..41 bits apart (random pairs average 32).
    assert min(hamming(a, b) for a, b in itertools.combinations(hashes, 2)) >= 16


def test_find_duplicates_groups_a_planted_copy(images: list[npt.NDArray[np.uint8]]) -> None:
    copy = _recode(images[0], 0.5, 60)
    hashes = np.array([dhash(image) for image in [*images, copy]], dtype=np.uint64)
    groups = find_duplicates(hashes, max_distance=8)
    assert groups.dtype == np.int64 and groups.shape == (len(images) + 1,)
    assert groups[-1] == groups[0]
    assert len(set(groups[: len(images)].tolist())) == len(images)  # distinct photos stay apart
    assert groups.tolist() == [*range(len(images)), 0]  # ids in order of first appearance


def test_find_duplicates_is_transitive_and_spans_blocks() -> None:
    rng = np.random.default_rng(0)
    n = 1300  # more than two blocks of rows
    hashes = rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64)
    hashes[700] = hashes[5] ^ np.uint64(0b111)  # 3 bits from 5
    hashes[1250] = hashes[700] ^ np.uint64(0b111000)  # 3 from 700, 6 from 5: joined through 700
    groups = find_duplicates(hashes, max_distance=3)
    assert groups[5] == groups[700] == groups[1250]
    assert len(np.unique(groups)) == n - 2
    assert len(np.unique(find_duplicates(hashes, max_distance=2))) == n
    assert len(np.unique(find_duplicates(hashes[:50], max_distance=64))) == 1


def test_find_duplicates_edge_cases() -> None:
    assert find_duplicates(np.zeros(0, dtype=np.uint64), 4).shape == (0,)
    assert find_duplicates([2**64 - 1, 2**64 - 1, 0], 0).tolist() == [0, 0, 1]
    with pytest.raises(ValueError, match="max_distance"):
        find_duplicates(np.zeros(2, dtype=np.uint64), 65)
    with pytest.raises(ValueError, match="shape"):
        find_duplicates(np.zeros((2, 2), dtype=np.uint64), 4)


def test_popcount_table_matches_native() -> None:
    x = np.random.default_rng(1).integers(0, 2**63, (7, 9), dtype=np.int64).astype(np.uint64)
    x[0, 0] = np.uint64(2**64 - 1)
    table = dedup._POPCOUNT[x.view(np.uint8)].reshape(7, 9, 8).sum(axis=-1)
    assert np.array_equal(dedup._popcount(x), table)
    assert dedup._popcount(x)[0, 0] == 64
