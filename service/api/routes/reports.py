"""KPIs per grid, unit, violation type or ISO week, and the weekly grid ranking (周排名). Aggregates over
every grid, readable by every signed-in role: cities publish these rankings to all units."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from service.api.deps import AnyUser, CtxDep, SessionDep
from service.api.period import PeriodDep
from service.api.schemas.reports import KpiOut, RankingOut
from service.cases.kpi import GroupBy, kpis, weekly_grid_ranking

router = APIRouter(tags=["reports"])


@router.get("/reports/kpis", response_model=list[KpiOut])
def report_kpis(
    _: AnyUser,
    ctx: CtxDep,
    session: SessionDep,
    period: PeriodDep,
    by: GroupBy | None = None,
) -> list[KpiOut]:
    """KPIs of the cases due in ``[start, end)``, one row per group (or one row overall without ``by``)."""
    rows = kpis(session, period.start, period.end, by, ctx.site.calendar.tz)
    return [KpiOut.model_validate(k) for k in rows]


@router.get("/reports/ranking", response_model=RankingOut)
def report_ranking(
    _: AnyUser,
    ctx: CtxDep,
    session: SessionDep,
    year: Annotated[int | None, Query(ge=2000, le=2200)] = None,
    week: Annotated[int | None, Query(ge=1, le=53)] = None,
    n: Annotated[int, Query(ge=1, le=50)] = 3,
) -> RankingOut:
    """The best and worst ``n`` grids of an ISO week (default: the current week in the site's time zone)."""
    tz = ctx.site.calendar.tz
    this_year, this_week, _weekday = datetime.now(tz).isocalendar()
    try:
        ranking = weekly_grid_ranking(session, year or this_year, week or this_week, tz, n)
    except ValueError as exc:  # week 53 of a year that has 52
        raise HTTPException(422, f"week: {exc}") from None
    return RankingOut.model_validate(ranking)
