"""The UI's wording of things that have a code: ISO weeks as people say them, in Chinese and English."""

from __future__ import annotations

import pytest

from service.ui.i18n import Lang, week_name


@pytest.mark.parametrize(
    ("lang", "label", "long", "expected"),
    [
        ("zh", "2026-W49", False, "第49周"),
        ("zh", "2026-W49", True, "第49周 (2026-11-30 至 12-06)"),
        ("en", "2026-W49", True, "week 49 (2026-11-30 to 12-06)"),
        ("zh", "2026-W01", True, "第1周 (2025-12-29 至 01-04)"),  # ISO week 1 starts in the year before
        ("zh", "2026-W53", True, "第53周 (2026-12-28 至 01-03)"),
    ],
)
def test_week_name(lang: Lang, label: str, long: bool, expected: str) -> None:
    assert week_name(lang, label, long=long) == expected
