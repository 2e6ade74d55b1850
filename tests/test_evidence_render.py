"""Evidence pictures: annotated frames, crops around a box, and the three pictures kept per sighting."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from service.evidence_render import (
    HIGHLIGHT,
    MAX_SIDE,
    OTHER,
    Mark,
    annotate,
    crop,
    encode_jpeg,
    fit,
    label_font_path,
    pixel_box,
    sighting_evidence,
    violation_label,
)
from service.store.models import EvidenceKind
from vision.imageio import decode_image
from vision.zones import PolygonZone


def grey(h: int, w: int) -> npt.NDArray[np.uint8]:
    return np.full((h, w, 3), 128, np.uint8)


def test_annotate_draws_on_a_copy_and_highlights_one_mark() -> None:
    photo = grey(400, 600)
    marks = [Mark((0.1, 0.5, 0.3, 0.9), "motor_parking 0.91"), Mark((0.6, 0.5, 0.9, 0.9), "motor_parking 0.55")]
    out = annotate(photo, marks, highlight=1)
    assert (photo == 128).all()  # the decoded photo is left as it was
    assert out.shape == photo.shape
    x1, y1, x2, y2 = pixel_box(marks[1].bbox, 600, 400)
    assert tuple(out[(y1 + y2) // 2, x2]) == HIGHLIGHT  # right edge of the highlighted box, mid-height
    x1, y1, x2, y2 = pixel_box(marks[0].bbox, 600, 400)
    assert tuple(out[(y1 + y2) // 2, x1]) == OTHER
    assert (out[y1 + 5 : y2 - 5, x1 + 5 : x2 - 5] == 128).all()  # boxes are outlines, the thing stays visible


def test_labels_stay_inside_the_picture() -> None:
    out = annotate(grey(200, 300), [Mark((0.9, 0.0, 1.0, 0.2), "non_motor_parking 0.48")], highlight=0)
    assert tuple(out[5, 299]) == HIGHLIGHT or tuple(out[5, 298]) == HIGHLIGHT
    x1 = pixel_box((0.9, 0.0, 1.0, 0.2), 300, 200)[0]
    tag = (out[:, : x1 - 20] == HIGHLIGHT).all(axis=-1)
    assert tag.any()  # the tag was moved left of the box to fit, not cut off at the right edge


@pytest.mark.parametrize("text", ["垃圾站(箱)满溢 0.87", "bin_overflow 0.87"])
def test_labels_in_chinese_are_drawn_with_a_cjk_font(text: str) -> None:
    if label_font_path() is None:
        pytest.skip("needs a CJK font (Debian fonts-noto-cjk or fonts-wqy-microhei)")
    out = annotate(grey(300, 600), [Mark((0.3, 0.5, 0.6, 0.9), text)], highlight=0)
    x1, y1, _, _ = pixel_box((0.3, 0.5, 0.6, 0.9), 600, 300)
    tag = out[:y1, x1:]
    ink = (tag < 60).all(axis=-1)  # the label's black text on its red tag
    assert ink.sum() > 40
    columns = np.flatnonzero(ink.any(axis=0))
    assert columns.size and columns[-1] - columns[0] > 60  # a whole line of glyphs, not one box of .notdef


def test_violation_label_names_the_event_in_chinese() -> None:
    if label_font_path() is None:
        assert violation_label("bin_overflow", "0.87") == "bin_overflow 0.87"
    else:
        assert violation_label("bin_overflow", "0.87") == "垃圾站(箱)满溢 0.87"
        assert violation_label("motor_parking", "clear", "已清除") == "机动车乱停放 已清除"


def test_annotate_outlines_zones() -> None:
    zone = PolygonZone([(0.05, 0.05), (0.95, 0.05), (0.95, 0.95), (0.05, 0.95)], kind="no_parking", id="lot")
    with_zone = annotate(grey(100, 100), [], zones=[zone])
    assert (with_zone != 128).any() and (annotate(grey(100, 100), []) == 128).all()


def test_large_frames_are_shrunk_for_review() -> None:
    out = annotate(grey(3000, 4000), [Mark((0.4, 0.4, 0.6, 0.6), "debris 0.80")], highlight=0)
    assert out.shape == (1440, MAX_SIDE, 3)
    assert fit(grey(100, 50)).shape == (100, 50, 3)


def test_crop_keeps_a_margin_around_the_box() -> None:
    photo = np.arange(1000 * 800 * 3, dtype=np.uint32).reshape(800, 1000, 3).astype(np.uint8)
    x1, y1, x2, y2 = pixel_box((0.4, 0.4, 0.6, 0.5), 1000, 800)
    out = crop(photo, (0.4, 0.4, 0.6, 0.5), margin=0.25)
    bw, bh = x2 - x1, y2 - y1
    assert abs(out.shape[1] - 1.5 * bw) <= 3 and abs(out.shape[0] - 1.5 * bh) <= 3
    left, top = int(x1 - 0.25 * bw), int(y1 - 0.25 * bh)
    assert (out == photo[top : top + out.shape[0], left : left + out.shape[1]]).all()  # pixels as they were


def test_crop_of_a_tiny_box_has_a_minimum_size_and_edges_are_clipped() -> None:
    photo = grey(600, 800)
    tiny = crop(photo, (0.5, 0.5, 0.505, 0.505), min_side=64)
    assert tiny.shape[0] >= 64 and tiny.shape[1] >= 64
    corner = crop(photo, (0.0, 0.0, 0.1, 0.1), margin=0.5)
    assert corner.shape[0] < 0.2 * 600 and corner.shape[1] < 0.2 * 800  # clipped at the top-left, not padded
    assert crop(photo, (0.0, 0.0, 1.0, 1.0)).shape == photo.shape


def test_jpeg_round_trip() -> None:
    photo = grey(120, 160)
    decoded = decode_image(encode_jpeg(photo))
    assert decoded.format == "JPEG" and decoded.pixels.shape == photo.shape
    assert np.abs(decoded.pixels.astype(int) - 128).max() <= 2


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_sighting_evidence_keeps_the_original_bytes(fmt: str, samples: Path) -> None:
    with Image.open(samples / "spb_facade_street_cars.jpg") as im:
        buf = io.BytesIO()
        im.save(buf, fmt)
    original = buf.getvalue()
    image = decode_image(original)
    marks = [Mark((0.53, 0.69, 0.71, 0.80), "motor_parking 0.91"), Mark((0.1, 0.6, 0.3, 0.8), "motor_parking 0.60")]
    items = sighting_evidence(original, image, marks, 0)
    assert [i.kind for i in items] == [EvidenceKind.ORIGINAL, EvidenceKind.ANNOTATED, EvidenceKind.CROP]
    assert items[0].data == original and items[0].ext == {"JPEG": "jpg", "PNG": "png"}[fmt]
    annotated, cropped = (decode_image(i.data) for i in items[1:])
    assert (annotated.width, annotated.height) == (image.width, image.height)
    assert cropped.width < image.width / 2 and cropped.height < image.height / 2
    assert items[1].ext == items[2].ext == "jpg"
    # the same sighting gives the same pictures: content-addressed evidence is stored once
    assert [i.data for i in sighting_evidence(original, image, marks, 0)] == [i.data for i in items]
