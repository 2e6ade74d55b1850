"""The dashboard's figures and the weekly report (周报): today's new, open and overdue cases, and one ISO week's
KPIs, grid and unit rankings with their 红黑榜, 周曝光 and new, closed and overdue counts.

Nothing is computed twice: the KPIs, rankings and exposure list come from :mod:`service.cases.kpi` and
:mod:`service.cases.exposure`, as the report API's do, and are scoped the way the API scopes them (KPIs, the exposure
list and the counts cover the viewer's cases: a unit handler's units; rankings cover every grid and unit, as cities
publish them to all units). The XLSX holds the export tables of :mod:`service.integrations.exports`, in Chinese for
a Chinese reader (:func:`service.ui.export_words.chinese`), one sheet each.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, time, tzinfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from domain.lifecycle import OPEN
from service.cases.exposure import Exposure, exposed_count, weekly_exposure
from service.cases.kpi import GroupBy, Kpi, Ranking, kpis, week_bounds, weekly_ranking
from service.cases.queries import overdue_condition, visible_condition
from service.integrations.exports import Cell, Table, exposure_table, kpi_table, ranking_table, to_xlsx
from service.store.models import Case
from service.ui import i18n
from service.ui.export_words import chinese
from service.ui.i18n import Lang
from service.ui.queries import SiteNames

# At most this many on each of the 红榜 and 黑榜, and never more than half of those ranked: with two units, one is
# on each list, rather than both on both (the dashboard once listed the same two grids as best and worst).
HONOURS = 3


def _count(session: Session, *where: ColumnElement[bool]) -> int:
    return int(session.scalar(select(func.count()).select_from(Case).where(*where)) or 0)


@dataclass(frozen=True)
class Today:
    """The wall's three numbers: cases opened since local midnight, open cases, overdue cases (those the viewer
    sees)."""

    new: int
    open: int
    overdue: int


def today(session: Session, units: frozenset[str] | None, tz: tzinfo, now: datetime) -> Today:
    midnight = datetime.combine(now.astimezone(tz).date(), time(), tz)
    seen = visible_condition(units)
    return Today(
        new=_count(session, seen, Case.created_at >= midnight, Case.created_at <= now),
        open=_count(session, seen, Case.state.in_(sorted(OPEN))),
        overdue=_count(session, seen, overdue_condition(now)),
    )


def honours(ranking: Ranking, most: int = HONOURS) -> Ranking:
    """``ranking`` with its 红榜 and 黑榜 cut to ``min(most, half of those ranked)``: what
    :func:`service.cases.kpi.weekly_ranking` gives for that ``n``, so no grid or unit is on both."""
    n = min(most, len(ranking.ranked) // 2)
    return replace(ranking, best=ranking.best[:n], worst=ranking.worst[:n])


@dataclass(frozen=True)
class WeeklyReport:
    """One ISO week (``label``: ``2026-W10``) as the viewer sees it."""

    year: int
    week: int
    label: str
    kpi: Kpi | None
    by_grid: Ranking
    by_unit: Ranking
    exposure: Exposure
    new: int
    closed: int
    overdue: int


def weekly_report(
    session: Session, year: int, week: int, tz: tzinfo, units: frozenset[str] | None, now: datetime | None = None
) -> WeeklyReport:
    """The report of ISO ``week`` of ``year``; ValueError for a week the year lacks (as the report API's)."""
    start, end = week_bounds(year, week, tz)
    seen = visible_condition(units)

    def ranking(by: GroupBy) -> Ranking:
        return honours(weekly_ranking(session, year, week, tz, HONOURS, by, now=now))

    return WeeklyReport(
        year=year,
        week=week,
        label=f"{year}-W{week:02d}",
        kpi=next(iter(kpis(session, start, end, None, tz, units=units, now=now)), None),
        by_grid=ranking(GroupBy.GRID),
        by_unit=ranking(GroupBy.UNIT),
        exposure=weekly_exposure(session, year, week, tz, units=units, now=now),
        new=_count(session, seen, Case.created_at >= start, Case.created_at < end),
        closed=_count(session, seen, Case.closed_at >= start, Case.closed_at < end),
        overdue=exposed_count(session, year, week, tz, units=units, now=now),
    )


def _summary(report: WeeklyReport, lang: Lang) -> Table:
    """The report's first sheet: the week and its counts, in the reader's words."""
    rows: list[tuple[Cell, Cell]] = [
        (i18n.t(lang, "dash.report_week"), i18n.week_name(lang, report.label, long=True)),
        (i18n.t(lang, "dash.week_new"), report.new),
        (i18n.t(lang, "dash.week_closed"), report.closed),
        (i18n.t(lang, "dash.week_overdue"), report.overdue),
    ]
    header = (i18n.t(lang, "dash.report_item"), i18n.t(lang, "dash.report_value"))
    return Table(i18n.t(lang, "dash.report_summary"), header, rows)


def report_xlsx(report: WeeklyReport, lang: Lang, names: SiteNames, tz: tzinfo) -> bytes:
    """The weekly report as a workbook: summary, KPIs, grid ranking, unit ranking (红黑榜 marked), 周曝光."""
    tables = [
        kpi_table([report.kpi] if report.kpi else []),
        ranking_table(report.by_grid),
        ranking_table(report.by_unit),
        exposure_table(report.exposure),
    ]
    shown = [chinese(table, names, tz) for table in tables] if lang == "zh" else tables
    return to_xlsx(_summary(report, lang), *shown)
