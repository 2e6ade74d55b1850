"""Case KPIs as SQL aggregates (CJ/T 292 and local assessment rules, see ../shared/DOMAIN.md).

Definitions, for a period ``[start, end)`` as of ``now``:

- **due** (应结案): dispatched cases whose current deadline (``deadline_at``, after any extension) falls in the
  period and that are settled by ``now``: the deadline has passed, or the case is closed. An open case whose
  deadline is still ahead is not due yet (the dashboard once counted those in its current week, so it said
  应结案 6 where an export up to now said due 0). Cases never dispatched (pending review, filed, rejected) have
  no deadline and are never due.
- **deferred**: due cases that were ever deferred (缓办); they leave the assessment.
- **assessed** = due - deferred: the denominator of every rate below.
- **closed**: assessed cases that are closed (结案), whenever that happened; **closed on time**: of those, the
  ones closed no later than their deadline.
- **reworked** / **extended** / **recurrent**: assessed cases returned for rework (返工) at least once /
  extended (延期) at least once / opened at a closed case's place (``previous_case_id`` set).
- closure rate = closed / assessed; on-time closure rate = closed on time / assessed; rework, extension and
  recurrence rates = reworked, extended, recurrent / assessed. A rate is None when nothing is assessed.
- mean hours to dispatch: from the case being opened to its first dispatch, over due cases;
  mean hours to close: from the case being opened to its closure, over closed cases.

Grouping by week uses ISO weeks of the deadline in the given time zone (the site's calendar zone). ``units``
limits every figure to the cases of those units (a unit handler's own KPIs); None counts every case. Every page,
API route and export computes its figures with :func:`kpis`: one definition, one set of numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, literal, or_, select, true
from sqlalchemy.orm import QueryableAttribute, Session

from domain.lifecycle import CaseState
from service.store.models import Case


class GroupBy(StrEnum):
    GRID = "grid"
    UNIT = "unit"
    VIOLATION = "violation"
    WEEK = "week"


@dataclass(frozen=True)
class Kpi:
    """Counts and rates of one group (``key``: grid id, unit id, violation or ``2026-W07``; None = all)."""

    key: str | None
    due: int
    deferred: int
    closed: int
    closed_on_time: int
    reworked: int
    extended: int
    recurrent: int
    mean_hours_to_dispatch: float | None
    mean_hours_to_close: float | None

    @property
    def assessed(self) -> int:
        return self.due - self.deferred

    def _rate(self, count: int) -> float | None:
        return count / self.assessed if self.assessed else None

    @property
    def closure_rate(self) -> float | None:
        return self._rate(self.closed)

    @property
    def on_time_rate(self) -> float | None:
        return self._rate(self.closed_on_time)

    @property
    def rework_rate(self) -> float | None:
        return self._rate(self.reworked)

    @property
    def extension_rate(self) -> float | None:
        return self._rate(self.extended)

    @property
    def recurrence_rate(self) -> float | None:
        return self._rate(self.recurrent)


@dataclass(frozen=True)
class Ranking:
    """One ISO week's grids or units (``by``), all of them best first in ``ranked``; the 红榜 ``best`` (best first)
    and the 黑榜 ``worst`` (worst first) are its ends (they may overlap when fewer than twice ``n`` were assessed)."""

    week: str
    by: GroupBy
    ranked: list[Kpi]
    best: list[Kpi]
    worst: list[Kpi]


def _seconds(dialect: str, later: Any, earlier: Any) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def iso_week(moment: datetime, tz: tzinfo) -> str:
    year, week, _ = moment.astimezone(tz).isocalendar()
    return f"{year}-W{week:02d}"


def week_start(year: int, week: int, tz: tzinfo) -> datetime:
    """Monday 00:00 of ISO ``week`` of ``year`` in ``tz``."""
    return datetime.combine(date.fromisocalendar(year, week, 1), time(), tz)


def _week_label(start: datetime, end: datetime, tz: tzinfo) -> ColumnElement[str]:
    """SQL mapping a due deadline in [start, end) to its ISO week label in ``tz``.

    Done with boundaries computed here rather than date functions in SQL: SQLite has no time zones, and
    this stays exact across daylight-saving changes on both backends.
    """
    local = start.astimezone(tz)
    monday = datetime.combine(local.date() - timedelta(days=local.weekday()), time(), tz)
    whens: list[tuple[ColumnElement[bool], str]] = []
    while monday < end:
        following = datetime.combine(monday.date() + timedelta(days=7), time(), tz)
        whens.append((Case.deadline_at < following, iso_week(monday, tz)))
        monday = following
    return case(*whens, else_=literal("?"))


def count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """How many rows of the group meet ``condition`` (0, not NULL, for none)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def unit_condition(units: frozenset[str] | None) -> ColumnElement[bool]:
    return true() if units is None else Case.unit_id.in_(sorted(units)) if units else false()


def kpis(
    session: Session,
    start: datetime,
    end: datetime,
    by: GroupBy | None = None,
    tz: tzinfo | None = None,
    *,
    units: frozenset[str] | None = None,
    now: datetime | None = None,
) -> list[Kpi]:
    """KPIs of the cases due in ``[start, end)`` as of ``now`` (default: the present), one row per group (sorted
    by key) or one row overall, over the cases of ``units`` (None: all).

    ``tz`` (default: ``start``'s own zone) names the zone of ISO weeks when grouping by week.
    """
    dialect = session.get_bind().dialect.name
    settled = or_(Case.deadline_at < (now or datetime.now(UTC)), Case.state == CaseState.CLOSED)
    due = and_(Case.deadline_at.is_not(None), Case.deadline_at >= start, Case.deadline_at < end, settled)
    assessed = Case.deferral_count == 0
    closed = and_(assessed, Case.state == CaseState.CLOSED)

    hours_to_dispatch = _seconds(dialect, Case.dispatched_at, Case.created_at) / 3600.0
    hours_to_close = case((closed, _seconds(dialect, Case.closed_at, Case.created_at) / 3600.0))
    keys: dict[GroupBy, ColumnElement[Any] | QueryableAttribute[Any]] = {
        GroupBy.GRID: Case.grid_id,
        GroupBy.UNIT: Case.unit_id,
        GroupBy.VIOLATION: Case.violation,
        GroupBy.WEEK: _week_label(start, end, tz or start.tzinfo or UTC),
    }
    key = keys[by].label("key") if by else literal(None).label("key")
    query = select(
        key,
        func.count().label("due"),
        count_where(~assessed),
        count_where(closed),
        count_where(and_(closed, Case.closed_at <= Case.deadline_at)),
        count_where(and_(assessed, Case.rework_count > 0)),
        count_where(and_(assessed, Case.extension_count > 0)),
        count_where(and_(assessed, Case.previous_case_id.is_not(None))),
        func.avg(hours_to_dispatch),
        func.avg(hours_to_close),
    ).where(due, unit_condition(units))
    if by:
        query = query.group_by(key).order_by(key)
    rows = session.execute(query).all()
    return [_kpi(row) for row in rows]


def _kpi(row: Sequence[Any]) -> Kpi:
    k, due, deferred, closed, on_time, reworked, extended, recurrent, to_dispatch, to_close = row
    return Kpi(
        key=None if k is None else str(k),
        due=int(due),
        deferred=int(deferred),
        closed=int(closed),
        closed_on_time=int(on_time),
        reworked=int(reworked),
        extended=int(extended),
        recurrent=int(recurrent),
        mean_hours_to_dispatch=None if to_dispatch is None else float(to_dispatch),
        mean_hours_to_close=None if to_close is None else float(to_close),
    )


def week_bounds(year: int, week: int, tz: tzinfo) -> tuple[datetime, datetime]:
    """[Monday 00:00, next Monday 00:00) of ISO ``week`` in ``tz``; ValueError for a week the year lacks."""
    start = week_start(year, week, tz)
    return start, datetime.combine(start.date() + timedelta(days=7), time(), tz)


def weekly_ranking(
    session: Session,
    year: int,
    week: int,
    tz: tzinfo,
    n: int = 3,
    by: GroupBy = GroupBy.GRID,
    *,
    now: datetime | None = None,
) -> Ranking:
    """Grids or units (``by``) ranked on the cases due in ISO ``week`` of ``year`` (by ``now``): on-time closure
    rate, then closure rate, then (lower) rework rate, then id. Those with nothing assessed are not ranked."""
    if by not in (GroupBy.GRID, GroupBy.UNIT):
        raise ValueError(f"rankings are by grid or unit, not {by}")
    start, end = week_bounds(year, week, tz)
    rows = [k for k in kpis(session, start, end, by, now=now) if k.assessed and k.key]

    def score(k: Kpi) -> tuple[float, float, float]:
        return (k.on_time_rate or 0.0, k.closure_rate or 0.0, -(k.rework_rate or 0.0))

    ranked = sorted(rows, key=lambda k: (tuple(-v for v in score(k)), k.key))
    worst = sorted(rows, key=lambda k: (score(k), k.key))
    return Ranking(f"{year}-W{week:02d}", by, ranked, ranked[:n], worst[:n])
