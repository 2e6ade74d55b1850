"""KPIs per grid, unit, violation type or ISO week; the weekly ranking of grids or units (周排名, with the 红黑榜 at
its ends); the weekly exposure list (周曝光); the detector's quality from verdicts and reported misses.

Scope: KPIs and the exposure list cover what the caller sees (a unit handler: its unit's cases); the ranking
covers every grid or unit, as cities publish rankings to all units. Every figure comes from
:func:`service.cases.kpi.kpis`, as the dashboard's and the exports' do: the same period gives the same numbers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from service.api.deps import AnyUser, CtxDep, SessionDep
from service.api.period import PeriodDep
from service.api.schemas.reports import ExposureOut, KpiOut, QualityOut, RankingOut
from service.cases.exposure import Exposure, weekly_exposure
from service.cases.kpi import GroupBy, Ranking, kpis, weekly_ranking
from service.cases.quality import QualityBy, quality

router = APIRouter(tags=["reports"])

Year = Annotated[int | None, Query(ge=2000, le=2200, description="ISO year (default: this week's)")]
Week = Annotated[int | None, Query(ge=1, le=53, description="ISO week (default: this week in the site's zone)")]
RankedBy = Annotated[GroupBy, Query(description="grid or unit")]


@router.get("/reports/kpis", response_model=list[KpiOut])
def report_kpis(
    principal: AnyUser,
    ctx: CtxDep,
    session: SessionDep,
    period: PeriodDep,
    by: GroupBy | None = None,
) -> list[KpiOut]:
    """KPIs of the cases due in ``[start, end)`` by now, one row per group (or one row overall without ``by``);
    a unit handler's are its unit's."""
    rows = kpis(session, period.start, period.end, by, ctx.site.calendar.tz, units=principal.units)
    return [KpiOut.model_validate(k) for k in rows]


def _week(ctx: CtxDep, year: int | None, week: int | None) -> tuple[int, int]:
    this_year, this_week, _weekday = datetime.now(ctx.site.calendar.tz).isocalendar()
    return year or this_year, week or this_week


def ranking_of(ctx: CtxDep, session: SessionDep, year: int | None, week: int | None, n: int, by: GroupBy) -> Ranking:
    """The week's ranking; 422 for ``by`` other than grid or unit, or week 53 of a year that has 52."""
    y, w = _week(ctx, year, week)
    try:
        return weekly_ranking(session, y, w, ctx.site.calendar.tz, n, by)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


def exposure_of(
    ctx: CtxDep, session: SessionDep, year: int | None, week: int | None, n: int, units: frozenset[str] | None
) -> Exposure:
    y, w = _week(ctx, year, week)
    try:
        return weekly_exposure(session, y, w, ctx.site.calendar.tz, n, units=units)
    except ValueError as exc:
        raise HTTPException(422, f"week: {exc}") from None


@router.get("/reports/ranking", response_model=RankingOut)
def report_ranking(
    _: AnyUser,
    ctx: CtxDep,
    session: SessionDep,
    year: Year = None,
    week: Week = None,
    n: Annotated[int, Query(ge=1, le=50)] = 3,
    by: RankedBy = GroupBy.GRID,
) -> RankingOut:
    """Grids or units of an ISO week, ranked on on-time closure, closure and rework; ``best``/``worst`` are the
    top and bottom ``n`` (红榜, 黑榜)."""
    return RankingOut.model_validate(ranking_of(ctx, session, year, week, n, by))


@router.get("/reports/exposure", response_model=ExposureOut)
def report_exposure(
    principal: AnyUser,
    ctx: CtxDep,
    session: SessionDep,
    year: Year = None,
    week: Week = None,
    n: Annotated[int, Query(ge=1, le=200)] = 10,
) -> ExposureOut:
    """周曝光: the week's ``n`` worst cases, overdue and not handled when the week ended (or now), the longest
    overdue first; a unit handler's are its unit's."""
    return ExposureOut.model_validate(exposure_of(ctx, session, year, week, n, principal.units))


@router.get("/reports/quality", response_model=list[QualityOut])
def report_quality(
    principal: AnyUser,
    ctx: CtxDep,
    session: SessionDep,
    period: PeriodDep,
    by: QualityBy | None = None,
) -> list[QualityOut]:
    """Precision (confirmed / reviewed) and recall (confirmed / (confirmed + reported misses)) of the detector's
    cases first seen, and misses seen, in ``[start, end)``, per label, camera or week; a unit handler's cover its
    grids."""
    rows = quality(session, period.start, period.end, by, ctx.site.calendar.tz, grids=principal.grids)
    return [QualityOut.model_validate(q) for q in rows]
