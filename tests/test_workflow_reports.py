"""Reports: the weekly ranking by grid and by unit with its 红榜 and 黑榜, the 周曝光 list, KPI figures that are the
same on the dashboard, in the API and in the export for the same period (the dashboard once said 应结案 6 where the
export said due 0: it counted open cases whose deadline was still ahead), and each role's own scope. On SQLite and
PostgreSQL.

Week 2026-W10 (Shanghai), exposed garbage (4 working hours), every case dispatched Monday 09:00:

====  ======  ======  ===============================================  ================================
case  grid    unit    what happens                                     counts as
====  ======  ======  ===============================================  ================================
A     g-east  u-east  handled 10:00, closed 11:00                      closed on time
B     g-east  u-east  never handled                                    overdue all week: exposed
C     g-west  u-west  handled 10:00, closed Tuesday 10:00              closed late
D     g-west  u-west  handled 10:00, returned 11:00 (rework), open     overdue, reworked: exposed first
====  ======  ======  ===============================================  ================================

By unit: u-east on time 1/2, u-west 0/2 (rework 1/2): u-east is the 红榜, u-west the 黑榜.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from domain.lifecycle import Action
from service.cases.exposure import weekly_exposure
from service.cases.kpi import GroupBy, week_bounds, weekly_ranking
from service.cases.manager import CaseManager
from service.ui.queries import weeks_back
from tests.api_fixtures import Api
from tests.db_fixtures import SHANGHAI, T0, Clock, picture, sighting

pytest_plugins = ["tests.db_fixtures", "tests.api_fixtures"]
A = Action


@pytest.fixture
def week(manager: CaseManager, clock: Clock) -> dict[str, int]:
    def dispatched(tag: str, camera: str, box: tuple[float, float, float, float]) -> int:
        case = manager.ingest(*sighting(camera_id=camera, bbox=box), [picture(tag)], "m1", f"sha-{tag}").case
        manager.act(case.id, A.FILE, actor="operator", at=T0)
        manager.act(case.id, A.DISPATCH, actor="operator", at=T0)
        return case.id

    ids = {
        "A": dispatched("A", "cam-1", (0.0, 0.0, 0.2, 0.2)),
        "B": dispatched("B", "cam-1", (0.5, 0.5, 0.7, 0.7)),
        "C": dispatched("C", "cam-2", (0.0, 0.0, 0.2, 0.2)),
        "D": dispatched("D", "cam-2", (0.5, 0.5, 0.7, 0.7)),
    }
    hour = timedelta(hours=1)
    for key in ("A", "C", "D"):
        manager.act(ids[key], A.HANDLE, actor="handler", at=T0 + hour, evidence=[picture(f"fix-{key}")])
    for action in (A.VERIFY, A.CLOSE):
        manager.act(ids["A"], action, actor="operator", at=T0 + 2 * hour)
        manager.act(ids["C"], action, actor="operator", at=T0 + timedelta(days=1, hours=1))
    manager.act(ids["D"], A.RETURN, actor="operator", at=T0 + 2 * hour)
    manager.act(ids["D"], A.DISPATCH, actor="operator", at=T0 + 2 * hour)
    return ids


def test_weekly_ranking_by_unit_and_grid(manager: CaseManager, week: dict[str, int]) -> None:
    with manager.store.session() as s:
        units = weekly_ranking(s, 2026, 10, SHANGHAI, n=1, by=GroupBy.UNIT)
        grids = weekly_ranking(s, 2026, 10, SHANGHAI, n=1, by=GroupBy.GRID)
        with pytest.raises(ValueError, match="by grid or unit"):
            weekly_ranking(s, 2026, 10, SHANGHAI, by=GroupBy.WEEK)
    assert [k.key for k in units.ranked] == ["u-east", "u-west"]
    assert ([k.key for k in units.best], [k.key for k in units.worst]) == (["u-east"], ["u-west"])
    east, west = units.ranked
    assert (east.due, east.closed_on_time, east.on_time_rate) == (2, 1, 0.5)
    assert (west.due, west.closed, west.closed_on_time, west.reworked) == (2, 1, 0, 1)
    assert [k.key for k in grids.ranked] == ["g-east", "g-west"] and grids.by is GroupBy.GRID


def test_weekly_exposure_lists_the_overdue_cases_worst_first(manager: CaseManager, week: dict[str, int]) -> None:
    with manager.store.session() as s:
        exposed = weekly_exposure(s, 2026, 10, SHANGHAI)
        east = weekly_exposure(s, 2026, 10, SHANGHAI, units=frozenset({"u-east"}))
        monday = weekly_exposure(s, 2026, 10, SHANGHAI, now=T0 + timedelta(hours=2))
    _, end = week_bounds(2026, 10, SHANGHAI)
    assert exposed.as_of == end
    assert [e.case_id for e in exposed.cases] == [week["D"], week["B"]]  # same deadline: the reworked one first
    d = exposed.cases[0]
    assert (d.unit_id, d.rework_count) == ("u-west", 1)
    assert d.overdue_hours == pytest.approx((end - d.deadline_at).total_seconds() / 3600)
    assert [e.case_id for e in east.cases] == [week["B"]]
    assert monday.cases == []  # Monday 11:00: nothing was past its deadline yet


def _dashboard_due(api: Api) -> int:
    page = api.client.get("/dashboard", headers=api.as_("operator"), params={"lang": "zh"})
    assert page.status_code == 200, page.text
    found = re.search(r"<dt>应结案数</dt><dd>(\d+)</dd>", page.text)
    assert found, "the dashboard shows 应结案数"
    return int(found.group(1))


def test_kpis_agree_on_the_dashboard_the_api_and_the_export(api: Api) -> None:
    """Dispatched just now, deadlines still ahead: not due on any page; one closed early: due and closed on all.

    The early case is dispatched and closed in the first minutes of this ISO week (Shanghai), so that its deadline
    (4 working hours on) falls inside the dashboard's period whatever day the test runs: dispatched just now on a
    Saturday, its deadline would be next Monday, outside the period, and rightly not due.
    """
    for tag in ("open-1", "open-2"):
        api.dispatch(api.open_case("cam-1", f"kpi-{tag}"))
    start, end, _ = weeks_back(datetime.now(UTC), SHANGHAI, 8)  # the dashboard's default period
    week_start = end - timedelta(weeks=1)
    early = api.open_case("cam-2", "kpi-early")
    manager = api.ctx.manager
    manager.act(early, A.FILE, actor="operator", at=week_start + timedelta(minutes=1))
    manager.act(early, A.DISPATCH, actor="operator", at=week_start + timedelta(minutes=2))
    manager.act(
        early, A.HANDLE, actor="handler_west", evidence=[picture("kpi-early-fix")], at=week_start + timedelta(minutes=3)
    )
    for k, action in enumerate((A.VERIFY, A.CLOSE), start=4):
        manager.act(early, action, actor="operator", at=week_start + timedelta(minutes=k))
    period = {"start": start.isoformat(), "end": end.isoformat()}
    [overall] = api.client.get("/api/v1/reports/kpis", headers=api.as_("operator"), params=period).json()
    exported = api.client.get("/api/v1/exports/kpis.csv", headers=api.as_("operator"), params=period)
    [row] = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert overall["due"] == int(row["due"]) == _dashboard_due(api) == 1
    assert overall["closed"] == int(row["closed"]) == 1


def test_each_role_sees_its_own_kpis_and_exposure(api: Api) -> None:
    east = api.dispatch(api.open_case("cam-1", "scope-kpi"))
    api.ctx.manager.act(east, A.HANDLE, actor="handler_east", evidence=[picture("scope-fix")])
    for action in (A.VERIFY, A.CLOSE):
        api.ctx.manager.act(east, action, actor="operator")
    period = {"start": "2026-01-01T00:00:00+08:00", "end": "2027-06-01T00:00:00+08:00", "by": "unit"}
    everyone = api.client.get("/api/v1/reports/kpis", headers=api.as_("viewer"), params=period).json()
    mine = api.client.get("/api/v1/reports/kpis", headers=api.as_("handler_west"), params=period).json()
    assert "u-east" in {r["key"] for r in everyone}
    assert {r["key"] for r in mine} <= {"u-west"}
    exported = api.client.get("/api/v1/exports/kpis.csv", headers=api.as_("handler_west"), params=period)
    assert "u-east" not in exported.content.decode("utf-8-sig")
    ranking = api.client.get("/api/v1/reports/ranking", headers=api.as_("handler_west"), params={"by": "unit"})
    assert ranking.status_code == 200 and ranking.json()["by"] == "unit"  # rankings are published to every unit
    assert (
        api.client.get("/api/v1/reports/ranking", headers=api.as_("viewer"), params={"by": "week"}).status_code == 422
    )
    exposure = api.client.get("/api/v1/reports/exposure", headers=api.as_("handler_west")).json()
    assert all(c["unit_id"] == "u-west" for c in exposure["cases"])
    for path in ("ranking.csv?by=unit", "exposure.xlsx"):
        assert api.client.get(f"/api/v1/exports/{path}", headers=api.as_("viewer")).status_code == 200
