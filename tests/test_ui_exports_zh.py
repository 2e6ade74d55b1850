"""Exports in the reader's language (issue 18.4): a Chinese request's CSV and XLSX name every column in Chinese,
show states, types, labels, deadline states, 红黑榜 and weeks in words, grids, units and cameras by name and
times in the site's time zone; an English request keeps the API's column keys, codes and UTC times."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]

from domain.lifecycle import Action, CaseState
from domain.taxonomy import LABEL_NAMES, Violation
from service.cases.queries import Due
from service.store.models import CaseSource
from tests.api_fixtures import Api
from tests.db_fixtures import SITE, T0, picture

pytest_plugins = ["tests.db_fixtures", "tests.api_fixtures"]

PERIOD = "start=2026-01-01T00:00:00Z&end=2027-12-31T00:00:00Z"
# (path, query): every table export, grouped every way its report groups.
EXPORTS = [
    ("cases", ""),
    ("kpis", PERIOD),
    *[("kpis", f"{PERIOD}&by={by}") for by in ("grid", "unit", "violation", "week")],
    ("ranking", "year=2026&week=10&by=grid"),
    ("ranking", "year=2026&week=10&by=unit"),
    ("exposure", "year=2026&week=10"),
    *[("quality", f"{PERIOD}&by={by}") for by in ("label", "camera", "week")],
]
ZH = {"accept-language": "zh-CN,zh;q=0.9,en;q=0.5"}
# Words a Chinese table must never show as a cell: codes and keys of the API.
RAW = (
    {str(s) for s in CaseState}
    | {str(v) for v in Violation}
    | set(LABEL_NAMES)
    | {str(d) for d in Due}
    | {str(s) for s in CaseSource}
    | {"red", "black", "all", "True", "False"}
    | {g.id for g in SITE.grids}
    | {u.id for u in SITE.units}
    | {c.id for c in SITE.cameras}
)
CJK = re.compile(r"[\u4e00-\u9fff]")


def table(api: Api, path: str, fmt: str, query: str, headers: dict[str, str]) -> list[list[object]]:
    response = api.client.get(f"/api/v1/exports/{path}.{fmt}?{query}", headers={**api.as_("admin"), **headers})
    assert response.status_code == 200, response.text
    if fmt == "csv":
        return [list(row) for row in csv.reader(io.StringIO(response.content.decode("utf-8-sig")))]
    return [[c.value for c in row] for row in load_workbook(io.BytesIO(response.content)).active.iter_rows()]


@pytest.fixture(scope="module")
def cases(api: Api) -> list[int]:
    """Cases of week 2026-W10 in both communities, so that every grouping has rows: one dispatched at T0 and
    closed within the hour, one dispatched and never handled (overdue: on the 周曝光 and the 黑榜), one with a
    rejecting verdict, one pending."""
    manager = api.ctx.manager
    closed, overdue = api.open_case("cam-1", "zh-e"), api.open_case("cam-2", "zh-w", Violation.BIN_OVERFLOW)
    for case_id in (closed, overdue):
        manager.act(case_id, Action.FILE, actor="operator", at=T0)
        manager.act(case_id, Action.DISPATCH, actor="operator", at=T0)
    hour = timedelta(hours=1)
    manager.act(closed, Action.HANDLE, actor="handler", at=T0 + hour, evidence=[picture("zh-fix")])
    for action in (Action.VERIFY, Action.CLOSE):
        manager.act(closed, action, actor="operator", at=T0 + 2 * hour)
    rejected = api.open_case("cam-1", "zh-r", Violation.MOTOR_PARKING)
    response = api.client.post(
        f"/api/v1/cases/{rejected}/verdicts", headers=api.as_("operator"), json={"verdict": "reject"}
    )
    assert response.status_code < 300, response.text
    return [closed, overdue, rejected, api.open_case("cam-2", "zh-p", Violation.MOTOR_PARKING)]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize(("path", "query"), EXPORTS)
def test_chinese_exports_have_no_raw_codes_or_english_headers(
    api: Api, cases: list[int], path: str, query: str, fmt: str
) -> None:
    rows = table(api, path, fmt, query, ZH)
    english = table(api, path, fmt, query, {})
    assert len(rows) == len(english) and len(rows[0]) == len(english[0])  # the same table, in other words
    assert all(CJK.search(str(name)) for name in rows[0]), rows[0]
    cells = [str(v) for row in rows[1:] for v in row if v not in (None, "")]
    assert not RAW & set(cells), sorted(RAW & set(cells))
    assert not [c for c in cells if re.search(r"\d{4}-W\d\d|\+00:00|\d{2}:\d{2}Z", c)]
    assert len(rows) > 1, "an empty table would prove nothing"
    if path == "cases":  # every case shown, under names
        assert len(rows) > len(cases) and "East community" in cells and "已派遣" in cells and "待审核" in cells


def test_chinese_case_export_gives_local_times(api: Api, cases: list[int]) -> None:
    """The same instants: UTC in English, the site's wall-clock time (Asia/Shanghai, UTC+8) to the second in
    Chinese; XLSX cells are naive (Excel has no zones), English ones in UTC."""
    tz = api.ctx.site.calendar.tz
    for fmt in ("csv", "xlsx"):
        zh, en = table(api, "cases", fmt, "", ZH), table(api, "cases", fmt, "", {})
        first_zh, first_en = zh[0].index("首次发现时间"), en[0].index("first_seen_utc")
        by_id = {str(row[0]): row for row in en[1:]}
        for row in zh[1:]:
            utc, local = by_id[str(row[0])][first_en], row[first_zh]
            if fmt == "csv":
                utc, local = datetime.fromisoformat(str(utc)), datetime.fromisoformat(str(local))
            assert isinstance(utc, datetime) and isinstance(local, datetime) and local.tzinfo is None
            instant = utc if utc.tzinfo else utc.replace(tzinfo=UTC)
            assert local == instant.astimezone(tz).replace(tzinfo=None, microsecond=0)
            assert local != utc.replace(tzinfo=None, microsecond=0)  # not UTC under another header


def test_english_exports_keep_keys_and_codes(api: Api, cases: list[int]) -> None:
    rows = table(api, "cases", "csv", "lang=en", ZH)  # ?lang= wins over the browser's language
    assert rows[0][:3] == ["id", "state", "violation"] and "dispatched" in {r[1] for r in rows[1:]}
