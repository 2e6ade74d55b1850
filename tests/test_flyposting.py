"""Synthetic flyposting: fonts, ad rendering, compositing on real walls, and its place in the dataset build."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from datasets.build import SYNTH_PREFIX, build_dataset
from datasets.flyposting import (
    Background,
    compose,
    find_cjk_fonts,
    phone_number,
    read_avoid_boxes,
    render_ad,
    synthesize,
)
from domain.taxonomy import LABEL_NAMES
from tests.test_dataset_build import DATA, needs_data

FACADES = DATA / "facades_spb" / "images" / "train"


def _read(path: Path) -> npt.NDArray[np.uint8]:
    """The photo as OpenCV decodes it (the generator reads backgrounds the same way)."""
    image = cv2.imread(str(path))
    assert image is not None, path
    return np.asarray(image, np.uint8)


@pytest.fixture(scope="module")
def fonts() -> list[Path]:
    return find_cjk_fonts()


def test_no_font_gives_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDWATCH_FONTS", str(tmp_path))
    monkeypatch.setattr("datasets.flyposting.FONT_DIRS", ())
    (tmp_path / "not-a-font.ttf").write_bytes(b"junk")
    with pytest.raises(ValueError, match="fonts-noto-cjk"):
        find_cjk_fonts()


def test_fonts_render_chinese(fonts: list[Path]) -> None:
    assert fonts and all(p.is_file() for p in fonts)


@pytest.mark.parametrize("seed", range(20))
def test_phone_numbers_look_like_mobile_numbers(seed: int) -> None:
    number = phone_number(np.random.default_rng(seed)).replace(" ", "")
    assert re.fullmatch(r"1[3-9]\d{9}", number), number


@pytest.mark.parametrize("seed", range(8))
def test_rendered_ad_is_an_inked_sheet(fonts: list[Path], seed: int) -> None:
    ad = render_ad(np.random.default_rng(seed), fonts)
    assert ad.ndim == 3 and ad.shape[2] == 4 and ad.dtype == np.uint8
    alpha = ad[..., 3] > 127
    assert 0.5 < alpha.mean() <= 1.0  # torn, not shredded
    grey = cv2.cvtColor(np.ascontiguousarray(ad[..., :3]), cv2.COLOR_BGR2GRAY)[alpha]
    assert grey.std() > 15  # text on paper, not a blank sheet


def test_sheet_shapes_vary(fonts: list[Path]) -> None:
    rng = np.random.default_rng(0)
    aspects = [a.shape[1] / a.shape[0] for a in (render_ad(rng, fonts) for _ in range(30))]
    assert min(aspects) < 0.9 and max(aspects) > 2.0  # posters and slips


@needs_data
@pytest.mark.parametrize("seed", range(6))
def test_boxes_cover_the_changed_pixels(fonts: list[Path], seed: int) -> None:
    image = _read(sorted(FACADES.glob("*.jpg"))[seed])
    before = image.copy()
    boxes = compose(image, np.zeros((0, 4), np.float32), fonts, np.random.default_rng(seed))
    h, w = image.shape[:2]
    assert len(boxes) >= 1
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= w).all() and (boxes[:, 1] >= 0).all()
    assert (boxes[:, 3] <= h).all() and (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
    changed = np.abs(image.astype(np.int16) - before).max(axis=2) > 40
    inside = np.zeros((h, w), bool)
    for x1, y1, x2, y2 in boxes.astype(int):
        inside[max(y1 - 3, 0) : y2 + 3, max(x1 - 3, 0) : x2 + 3] = True
    # Strongly changed pixels outside every box belong to ads hidden under others (no box when < 35 % shows).
    assert changed[inside].mean() > 0.2
    assert changed[~inside].mean() < 0.02


@needs_data
def test_nothing_is_pasted_where_everything_is_avoided(fonts: list[Path]) -> None:
    path = sorted(FACADES.glob("*.jpg"))[0]
    pixels, boxes = synthesize(Background(path, np.array([[0, 0, 1, 1]], np.float32)), fonts, np.random.default_rng(0))
    assert len(boxes) == 0
    assert np.array_equal(pixels, _read(path))


def test_avoid_boxes_read_by_class(tmp_path: Path) -> None:
    labels = tmp_path / "a.txt"
    labels.write_text("0 0.5 0.5 0.2 0.4\n5 0.1 0.1 0.1 0.1\n3 0.25 0.75 0.5 0.5\n")
    boxes = read_avoid_boxes(labels, frozenset({0, 3}))
    np.testing.assert_allclose(boxes, [[0.4, 0.3, 0.6, 0.7], [0.0, 0.5, 0.5, 1.0]], atol=1e-6)
    assert read_avoid_boxes(tmp_path / "missing.txt", frozenset({0})).shape == (0, 4)


@needs_data
def test_synthetic_images_go_to_train_only(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    report = build_dataset(
        DATA, out, sources=["facades_spb", "graffiti_gr"], detector=None, limit_per_source=25, synthetic=6, seed=3
    )
    synth = sorted((out / "images").glob(f"*/{SYNTH_PREFIX}_*.jpg"))
    assert len(synth) == 6 == report.synthetic_images
    assert {p.parent.name for p in synth} == {"train"}
    poster = LABEL_NAMES.index("poster")
    boxes = 0
    for image in synth:
        # Backgrounds come from facades in train only: the name carries the background photo.
        background = image.stem.split("__", 1)[1]
        assert (out / "images" / "train" / f"{background}.jpg").is_file()
        rows = (out / "labels" / "train" / f"{image.stem}.txt").read_text().splitlines()
        boxes += sum(int(r.split()[0]) == poster for r in rows)
    assert boxes == report.synthetic_boxes["poster"] == report.label_boxes["train"]["poster"] > 0
    assert report.label_boxes["val"]["poster"] == report.label_boxes["test"]["poster"] == 0
    card = (out / "README.md").read_text(encoding="utf-8")
    assert f"6 synthetic flyposting images (`{SYNTH_PREFIX}_*`" in card and "never enter val or test" in card
    assert "poster" not in report.unavailable


@needs_data
def test_synthetic_needs_a_background_source(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no train-split background"):
        build_dataset(DATA, tmp_path / "ds", sources=["graffiti_gr"], detector=None, limit_per_source=5, synthetic=2)
