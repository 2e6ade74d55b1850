"""Phone numbers: the regex on a table of printed forms, and RapidOCR reading rendered Chinese small ads."""

from __future__ import annotations

import numpy as np
import pytest

from datasets import flyposting
from datasets.flyposting import find_cjk_fonts, render_ad
from vision.ocr import PosterReader, find_phones


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("电话:138 0013 8000", [("13800138000", "mobile")]),
        ("TEL 138-0013-8000 微信同号", [("13800138000", "mobile")]),
        ("+86 139.1234.5678", [("13912345678", "mobile")]),
        ("0086-15012345678", [("15012345678", "mobile")]),
        ("电话１３８００１３８０００", [("13800138000", "mobile")]),  # full-width digits
        ("138OO138OOO", [("13800138000", "mobile")]),  # OCR reads 0 as O inside a number
        ("010-62345678", [("010-62345678", "landline")]),
        ("(0755)2345 6789", [("0755-23456789", "landline")]),
        ("0571 8765432", [("0571-8765432", "landline")]),
        ("13800138000 或 021-61234567", [("13800138000", "mobile"), ("021-61234567", "landline")]),
        ("13800138000 13800138000", [("13800138000", "mobile")]),  # once
        ("12345678901", []),  # 12x is no mobile prefix
        ("1380013800", []),  # 10 digits
        ("138001380001", []),  # 12 digits
        ("订单号 20231105123456", []),
        ("SOS 学区房 2023年", []),
    ],
)
def test_phone_regex(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(p.number, p.kind) for p in find_phones(text)] == expected


@pytest.fixture(scope="module")
def reader() -> PosterReader:
    return PosterReader(threads=2)


PRINTED = ["138 0013 8000", "15912345678", "186 2233 4455", "17700001111"]


def test_rapidocr_reads_the_phone_number_of_rendered_chinese_ads(
    reader: PosterReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    fonts = find_cjk_fonts()
    if not fonts:
        pytest.skip("no CJK font installed (fonts-noto-cjk)")
    found = 0
    for seed, printed in enumerate(PRINTED):
        # The ad's layout, texts, colours and weathering come from the seeded generator; the number is ours.
        monkeypatch.setattr(flyposting, "phone_number", lambda _rng, p=printed: p)
        ad = np.ascontiguousarray(flyposting.render_ad(np.random.default_rng(seed), fonts)[..., :3])
        numbers = [p.number for p in reader.phones(ad)]
        assert all(len(n) == 11 and n.startswith("1") for n in numbers), numbers
        found += printed.replace(" ", "") in numbers
    assert found >= 3, "the number printed on most ads is read back"


def test_poster_boxes_limit_where_text_is_read(reader: PosterReader) -> None:
    fonts = find_cjk_fonts()
    if not fonts:
        pytest.skip("no CJK font installed (fonts-noto-cjk)")
    ad = np.ascontiguousarray(render_ad(np.random.default_rng(1), fonts)[..., :3])
    h, w = ad.shape[:2]
    wall = np.full((h * 2, w * 3, 3), 180, np.uint8)
    wall[h // 2 : h // 2 + h, w : 2 * w] = ad
    box = (1 / 3, 0.25, 2 / 3, 0.75)
    assert [p.number for p in reader.phones(wall, [box])] == [p.number for p in reader.phones(ad)]
    assert reader.phones(wall, [(0.0, 0.0, 0.3, 0.2)]) == []
