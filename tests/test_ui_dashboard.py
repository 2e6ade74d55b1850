"""The wall dashboard and the weekly report (issue 18): today's new, open and overdue cases as the store holds them;
the unit and grid rankings, 红黑榜 and 周曝光 the same as the report API's for the same week and caller; a unit
handler's figures its own unit's (rankings are published to every unit); the weekly XLSX opens with openpyxl,
Chinese for a Chinese reader, with the API's figures; the print page renders. On SQLite and PostgreSQL.

Week 2026-W10 (Shanghai), exposed garbage (4 working hours), every case dispatched Monday 09:00 (T0), as in
``test_workflow_reports``: A (east) closed on time, B (east) never handled, C (west) closed late, D (west) returned
for rework and open; E (east) waits for review, F (west) was dispatched just now (its deadline ahead).
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import select

from domain.lifecycle import OPEN, REACHED_UNIT, Action
from service.cases.kpi import week_bounds
from service.cases.queries import OVERDUE_STATES
from service.store.models import Case
from tests.api_fixtures import Api
from tests.db_fixtures import SHANGHAI, SITE, T0, picture

pytest_plugins = ["tests.db_fixtures", "tests.api_fixtures"]

YEAR, WEEK = 2026, 10  # T0's ISO week
WEEK_QUERY = {"year": YEAR, "week": WEEK}
VIEWERS = ["operator", "viewer", "handler_east", "handler_west"]
UNITS: dict[str, frozenset[str] | None] = {
    "operator": None,
    "viewer": None,
    "handler_east": frozenset({"u-east"}),
    "handler_west": frozenset({"u-west"}),
}
ZH = {"lang": "zh"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def seed_week(api: Api) -> dict[str, int]:
    """The cases of the module docstring; returns their ids by letter."""
    manager, hour = api.ctx.manager, timedelta(hours=1)
    cameras = {"A": "cam-1", "B": "cam-1", "C": "cam-2", "D": "cam-2", "E": "cam-1", "F": "cam-2"}
    ids = {key: api.open_case(camera, f"dash-{key}") for key, camera in cameras.items()}
    for key in "ABCD":
        manager.act(ids[key], Action.FILE, actor="operator", at=T0)
        manager.act(ids[key], Action.DISPATCH, actor="operator", at=T0)
    for key in "ACD":
        manager.act(ids[key], Action.HANDLE, actor="handler", at=T0 + hour, evidence=[picture(f"dash-fix-{key}")])
    for action in (Action.VERIFY, Action.CLOSE):
        manager.act(ids["A"], action, actor="operator", at=T0 + 2 * hour)
        manager.act(ids["C"], action, actor="operator", at=T0 + timedelta(days=1, hours=1))
    manager.act(ids["D"], Action.RETURN, actor="operator", at=T0 + 2 * hour)
    manager.act(ids["D"], Action.DISPATCH, actor="operator", at=T0 + 2 * hour)
    api.dispatch(ids["F"])  # now: its deadline is ahead, neither due nor overdue
    return ids


@pytest.fixture(scope="module")
def week(api: Api) -> dict[str, int]:
    return seed_week(api)


def page(api: Api, user: str, path: str, **params: Any) -> str:
    response = api.client.get(path, headers=api.as_(user), params=params)
    assert response.status_code == 200, response.text
    return str(response.text)


def reported(api: Api, user: str, path: str, **params: Any) -> Any:
    response = api.client.get(f"/api/v1/reports/{path}", headers=api.as_(user), params=params)
    assert response.status_code == 200, response.text
    return response.json()


def section(html: str, pattern: str) -> str:
    """The markup from the element ``pattern`` finds to the end of its table (or list)."""
    found = re.search(pattern + r".*?</(table|dl)>", html, re.S)
    assert found, pattern
    return str(found.group(0))


def keys(markup: str, attribute: str = "data-key") -> list[str]:
    return re.findall(rf'{attribute}="([^"]+)"', markup)


def seen(case: Case, units: frozenset[str] | None) -> bool:
    """What a principal of ``units`` sees, written out here from the routing rule (not the query under test)."""
    return units is None or (case.unit_id in units and case.state in REACHED_UNIT)


def store_cases(api: Api, units: frozenset[str] | None) -> list[Case]:
    with api.ctx.store.session() as session:
        return [c for c in session.scalars(select(Case)) if seen(c, units)]


@pytest.mark.parametrize("user", VIEWERS)
def test_today_counts_are_what_the_store_holds(api: Api, week: dict[str, int], user: str) -> None:
    html = page(api, user, "/dashboard", **ZH)
    now = datetime.now(UTC)
    today = now.astimezone(SHANGHAI).date()
    cases = store_cases(api, UNITS[user])
    expected = {
        "new": sum(c.created_at.astimezone(SHANGHAI).date() == today for c in cases),
        "open": sum(c.state in OPEN for c in cases),
        "overdue": sum(c.state in OVERDUE_STATES and c.deadline_at is not None and c.deadline_at < now for c in cases),
    }
    shown = {k: int(re.search(rf'id="today-{k}"[^>]*><span class="n">(\d+)</span>', html).group(1)) for k in expected}  # type: ignore[union-attr]
    assert shown == expected
    assert expected["overdue"] >= (2 if UNITS[user] is None else 1)  # B and D are overdue: not an empty check
    for word in ("今日新增", "未结案件", "超期案件"):
        assert word in html


@pytest.mark.parametrize("user", VIEWERS)
@pytest.mark.parametrize("path", ["/dashboard", "/dashboard/weekly"])
def test_rankings_honours_and_exposure_are_the_apis(api: Api, week: dict[str, int], user: str, path: str) -> None:
    html = page(api, user, path, **WEEK_QUERY, **ZH)
    for by in ("unit", "grid"):
        ranked = reported(api, user, "ranking", **WEEK_QUERY, by=by, n=50)["ranked"]
        assert keys(section(html, f'id="ranking-{by}"')) == [k["key"] for k in ranked] and len(ranked) == 2
        # 红黑榜: the API's ends for n = half of those ranked (at most 3), so no one is on both
        ends = reported(api, user, "ranking", **WEEK_QUERY, by=by, n=min(3, len(ranked) // 2))
        for colour, end in (("red", "best"), ("black", "worst")):
            lists = re.findall(r"<ol>(.*?)</ol>", section(html, f'id="honours-{colour}"'), re.S)
            assert keys(lists[0 if by == "unit" else 1]) == [k["key"] for k in ends[end]]
    exposure = reported(api, user, "exposure", **WEEK_QUERY)
    assert keys(section(html, 'id="exposure-table"'), "data-case") == [str(c["case_id"]) for c in exposure["cases"]]
    mine = {"handler_east": [week["B"]], "handler_west": [week["D"]]}.get(user, [week["D"], week["B"]])
    assert [c["case_id"] for c in exposure["cases"]] == mine  # a unit handler's own unit only
    assert "hepingli" not in html and 'data-key="u-east">u-east' not in html  # names shown, ids only in attributes


@pytest.mark.parametrize("user", VIEWERS)
def test_week_counts_and_kpis_are_the_stores_and_the_apis(api: Api, week: dict[str, int], user: str) -> None:
    html = page(api, user, "/dashboard/weekly", **WEEK_QUERY)
    start, end = week_bounds(YEAR, WEEK, SHANGHAI)
    cases = store_cases(api, UNITS[user])
    exposure = reported(api, user, "exposure", **WEEK_QUERY, n=200)
    expected = {
        "new": sum(start <= c.created_at < end for c in cases),
        "closed": sum(c.closed_at is not None and start <= c.closed_at < end for c in cases),
        "overdue": len(exposure["cases"]),
    }
    shown = {k: int(re.search(rf'id="week-{k}">(\d+)<', html).group(1)) for k in expected}  # type: ignore[union-attr]
    assert shown == expected
    [kpi] = reported(api, user, "kpis", start=start.isoformat(), end=end.isoformat())
    assert int(re.search(r'id="report-due">(\d+)<', html).group(1)) == kpi["due"] > 0  # type: ignore[union-attr]


def workbook(api: Api, user: str, lang: str) -> dict[str, list[list[Any]]]:
    response = api.client.get("/dashboard/weekly.xlsx", headers=api.as_(user), params={**WEEK_QUERY, "lang": lang})
    assert response.status_code == 200, response.text
    book = load_workbook(io.BytesIO(response.content))
    return {sheet.title: [[c.value for c in row] for row in sheet.iter_rows()] for sheet in book.worksheets}


SHEETS = {
    "zh": ["概况", "考核指标", "网格排名", "单位排名", "周曝光"],
    "en": ["summary", "kpis", "ranking-grid", "ranking-unit", "exposure"],
}


@pytest.mark.parametrize("user", ["operator", "handler_west"])
def test_weekly_xlsx_has_the_apis_figures(api: Api, week: dict[str, int], user: str) -> None:
    en = workbook(api, user, "en")
    assert list(en) == SHEETS["en"]
    for by in ("grid", "unit"):
        header, *rows = en[f"ranking-{by}"]
        ranked = reported(api, user, "ranking", **WEEK_QUERY, by=by, n=50)["ranked"]
        assert [r[header.index(by)] for r in rows] == [k["key"] for k in ranked]
        assert [r[header.index("on_time_rate")] for r in rows] == [k["on_time_rate"] for k in ranked]
        assert [r[header.index("list")] for r in rows] == ["red", "black"]  # two ranked: one on each list
    header, *rows = en["exposure"]
    exposure = reported(api, user, "exposure", **WEEK_QUERY)
    assert [r[header.index("case")] for r in rows] == [c["case_id"] for c in exposure["cases"]]
    start, end = week_bounds(YEAR, WEEK, SHANGHAI)
    [kpi] = reported(api, user, "kpis", start=start.isoformat(), end=end.isoformat())
    header, row = en["kpis"]
    assert (row[header.index("due")], row[header.index("closed")]) == (kpi["due"], kpi["closed"])
    summary = dict(en["summary"][1:])
    assert summary["Overdue cases"] == len(reported(api, user, "exposure", **WEEK_QUERY, n=200)["cases"])

    zh = workbook(api, user, "zh")
    assert list(zh) == SHEETS["zh"]
    assert all(CJK.search(str(h)) for sheet in zh.values() for h in sheet[0]), "Chinese headers"
    assert zh["概况"][1] == ["周次", "第10周 (2026-03-02 至 03-08)"]
    names = {u.id: u.name for u in SITE.units}
    ranked = reported(api, user, "ranking", **WEEK_QUERY, by="unit")["ranked"]
    assert [r[2] for r in zh["单位排名"][1:]] == [names[k["key"]] for k in ranked]  # names, not ids
    assert [r[3] for r in zh["单位排名"][1:]] == ["红榜", "黑榜"]
    cells = {str(v) for sheet in zh.values() for row in sheet[1:] for v in row}
    assert not cells & {"u-east", "u-west", "g-east", "g-west", "red", "black", "dispatched", "returned"}


def test_print_page_renders_and_a_missing_week_is_refused(api: Api, week: dict[str, int]) -> None:
    html = page(api, "handler_west", "/dashboard/weekly", **WEEK_QUERY, **ZH)
    assert "第10周 (2026-03-02 至 03-08)" in html and "周曝光" in html and "红黑榜" in html
    assert re.search(r'id="report-scope">West sanitation team<', html)  # a unit handler's report is its unit's
    assert 'href="/dashboard/weekly.xlsx?year=2026&amp;week=10"' in html
    css = api.client.get("/static/app.css").text
    assert "@media print" in css and "size: A4" in css
    refused = api.client.get(
        "/dashboard/weekly", headers=api.as_("operator"), params={"year": 2027, "week": 53, "lang": "en"}
    )
    assert refused.status_code == 422 and "No such week" in refused.text  # 2027 has 52 ISO weeks
