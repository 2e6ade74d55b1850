# ruff: noqa: RUF001 - Chinese text is written with full-width punctuation
"""The UI's wording of things that have a code: ISO weeks as people say them, detector labels, the notes the
system writes into a case's log and cameras' errors, in Chinese and English."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from service.ui.i18n import Lang, label_name, week_name
from service.ui.notes import note_text, stream_error
from service.ui.queries import SiteNames


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


NAMES = SiteNames(
    grids={"g-east": "东院"}, units={"u-west": "区环卫中心"}, places={"p-market": "菜市场巷口"}, cameras={}
)


def _local(moment: datetime | None) -> str:
    return moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M") if moment else "-"


# Notes as service/cases writes them (manager, sightings, oversight, relocation, manual), and what the Chinese UI
# shows; English shows every note as stored.
@pytest.mark.parametrize(
    ("action", "note", "expected"),
    [
        ("verdict", "confirm", "确认"),
        ("verdict", "reject", "不予立案"),
        ("verdict", "relabel as motor_parking", "改类为 09009 机动车乱停放"),
        ("propose_rectified", "place clear since 2026-03-02T01:30:00+00:00", "自 2026-03-02 09:30 起画面中已无该问题"),
        (
            "flag_rework",
            "seen again at 2026-03-02T02:00:00+00:00 after the place was clear; "
            "seen again at 2026-03-02T02:00:00+00:00 after it was reported handled",
            "摄像头显示已整改后，2026-03-02 10:00 再次发现；报告已处置后，2026-03-02 10:00 再次发现",
        ),
        (
            "relocate",
            "grid_id: g-east -> g-west; place_id: None -> p-market",
            "网格：东院 → g-west；点位：- → 菜市场巷口",
        ),
        ("open", "recurrence of case 12", "反复出现，前案 #12"),
        ("open", "hotline: 楼下垃圾没人清", "热线：楼下垃圾没人清"),
        ("request_extend", "施工未完 until 2026-03-04T10:00:00+00:00", "施工未完（申请期限至 2026-03-04 18:00）"),
        ("extend", "extend request 3 approved: 施工未完 (同意)", "延期申请 #3 已批准：施工未完（同意）"),
        ("refuse_request", "defer request 4: 不符合条件", "缓办申请 #4 已驳回：不符合条件"),
        ("dispatch", "请尽快清理", "请尽快清理"),  # a person's note stays as written
    ],
)
def test_case_log_notes_in_chinese(action: str, note: str, expected: str) -> None:
    assert note_text("zh", action, note, names=NAMES, local=_local) == expected
    assert note_text("en", action, note, names=NAMES, local=_local) == note


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("stream ended or read timed out", "视频流中断或读取超时"),
        ("no frame for more than 15 s", "超过 15 秒没有画面"),
        ("cannot open rtsp://***@10.0.0.5/stream", "无法打开视频源 rtsp://***@10.0.0.5/stream"),
        ("detection failed: ModelError: bad input", "识别失败：ModelError: bad input"),
        ("something new", "something new"),
    ],
)
def test_stream_errors_in_chinese(error: str, expected: str) -> None:
    assert stream_error("zh", error) == expected and stream_error("en", error) == error


@pytest.mark.parametrize(("name", "zh"), [("bin_overflow", "垃圾桶满溢"), ("car", "小汽车"), ("unknown", "unknown")])
def test_label_name(name: str, zh: str) -> None:
    assert label_name("zh", name) == zh and label_name("en", name) == name
