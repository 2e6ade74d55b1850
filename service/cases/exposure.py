"""周曝光: the week's worst cases, as things stood when the week ended (or now, during the week): dispatched, past
their deadline and still owed by the unit then (owed now: dispatched, extended or returned; or reported handled
only after the week ended), the longest overdue first (then the most reworked, the most supervised). Deferred (缓办)
cases are left out: their clock is not running.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from service.cases.kpi import unit_condition, week_bounds
from service.cases.queries import OVERDUE_STATES
from service.store.models import Case


@dataclass(frozen=True)
class Exposed:
    """One exposed case; ``overdue_hours``: how far past its deadline it was at ``as_of``."""

    case_id: int
    violation: str
    state: str
    grid_id: str | None
    unit_id: str | None
    deadline_at: datetime
    overdue_hours: float
    rework_count: int
    supervision_count: int
    recurrent: bool


@dataclass(frozen=True)
class Exposure:
    week: str
    as_of: datetime
    cases: list[Exposed]


def _as_of(year: int, week: int, tz: tzinfo, now: datetime | None) -> datetime:
    """When the week's standing is taken: its end, or now during the week."""
    _, end = week_bounds(year, week, tz)
    return min(end, now or datetime.now(UTC))


def _owed(as_of: datetime) -> ColumnElement[bool]:
    """Dispatched by ``as_of``, past its deadline then and still owed by the unit then."""
    return and_(
        Case.dispatched_at.is_not(None),
        Case.dispatched_at <= as_of,
        Case.deadline_at < as_of,
        or_(Case.state.in_(OVERDUE_STATES), Case.handled_at > as_of),
    )


def exposed_count(
    session: Session,
    year: int,
    week: int,
    tz: tzinfo,
    *,
    units: frozenset[str] | None = None,
    now: datetime | None = None,
) -> int:
    """How many cases :func:`weekly_exposure` could list (all of them, not its worst ``n``): the week's overdue
    count in the weekly report."""
    query = select(func.count()).select_from(Case).where(_owed(_as_of(year, week, tz, now)), unit_condition(units))
    return int(session.scalar(query) or 0)


def weekly_exposure(
    session: Session,
    year: int,
    week: int,
    tz: tzinfo,
    n: int = 10,
    *,
    units: frozenset[str] | None = None,
    now: datetime | None = None,
) -> Exposure:
    """The ``n`` worst cases of ISO ``week`` of ``year`` (of ``units``; None: all). ValueError for a week the
    year lacks."""
    as_of = _as_of(year, week, tz, now)
    query = (
        select(Case)
        .where(_owed(as_of), unit_condition(units))
        .order_by(Case.deadline_at, Case.rework_count.desc(), Case.supervision_count.desc(), Case.id)
        .limit(n)
    )
    rows = [
        Exposed(
            case_id=c.id,
            violation=c.violation,
            state=c.state,
            grid_id=c.grid_id,
            unit_id=c.unit_id,
            deadline_at=c.deadline_at,
            overdue_hours=(as_of - c.deadline_at).total_seconds() / 3600.0,
            rework_count=c.rework_count,
            supervision_count=c.supervision_count,
            recurrent=c.previous_case_id is not None,
        )
        for c in session.scalars(query)
        if c.deadline_at is not None
    ]
    return Exposure(f"{year}-W{week:02d}", as_of, rows)
