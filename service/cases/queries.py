"""Read-side queries over cases and observations for the API and the web UI: filters, pagination, a case's
timeline, evidence and verdicts. Writes go through :class:`~service.cases.manager.CaseManager`."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Literal

from sqlalchemy import ColumnElement, Select, and_, false, func, select, true
from sqlalchemy.orm import Session

from domain.lifecycle import REACHED_UNIT, CaseState
from service.store.models import Case, CaseEvent, CaseRequest, EvidenceLink, Observation, RequestState, Verdict

# A case is overdue while the unit still owes the work past its deadline. Deferred cases are paused (缓办)
# and handled ones are done as far as the deadline is concerned.
OVERDUE_STATES = frozenset({CaseState.DISPATCHED, CaseState.EXTENDED, CaseState.RETURNED})
# Due soon: the clock runs and less than this is left (half a working day: a handler can still act today).
DUE_SOON = timedelta(hours=4)


class Due(StrEnum):
    """Where a running deadline stands: passed, within :data:`DUE_SOON`, or further off."""

    OVERDUE = "overdue"
    DUE_SOON = "due_soon"
    ON_TIME = "on_time"


Sort = Literal["newest", "deadline"]


@dataclass(frozen=True)
class CaseFilter:
    """What to list; empty collections and None mean "any". ``units_visible`` None means every case, else only
    cases dispatched to those units (a unit handler's, see :func:`visible_condition`). ``since``/``until`` bound
    when the violation was first seen, [since, until). ``due`` keeps the cases whose running deadline is in that
    state; ``sort`` "deadline" puts the nearest deadline first (no deadline last), else newest first."""

    states: Collection[CaseState] = ()
    violations: Collection[str] = ()
    grid_ids: Collection[str] = ()
    unit_ids: Collection[str] = ()
    camera_ids: Collection[str] = ()
    place_ids: Collection[str] = ()
    since: datetime | None = None
    until: datetime | None = None
    overdue: bool | None = None
    needs_rework: bool | None = None
    due: Due | None = None
    supervised: bool | None = None
    sources: Collection[str] = ()
    units_visible: frozenset[str] | None = None
    sort: Sort = "newest"
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


def visible_condition(units: frozenset[str] | None) -> ColumnElement[bool]:
    """The cases a principal limited to ``units`` sees (None: all): dispatched to one of them, once confirmed (a
    case re-dispatched or sent back leaves the old unit's view)."""
    if units is None:
        return true()
    return and_(Case.unit_id.in_(sorted(units)), Case.state.in_(REACHED_UNIT)) if units else false()


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    return and_(Case.state.in_(OVERDUE_STATES), Case.deadline_at.is_not(None), Case.deadline_at < now)


def due_condition(due: Due, now: datetime) -> ColumnElement[bool]:
    """:func:`due_state` in SQL."""
    running = and_(Case.state.in_(OVERDUE_STATES), Case.deadline_at.is_not(None))
    if due is Due.OVERDUE:
        return overdue_condition(now)
    if due is Due.DUE_SOON:
        return and_(running, Case.deadline_at >= now, Case.deadline_at < now + DUE_SOON)
    return and_(running, Case.deadline_at >= now + DUE_SOON)


def is_overdue(case: Case, now: datetime) -> bool:
    """:func:`overdue_condition` for a loaded case."""
    return case.state in OVERDUE_STATES and case.deadline_at is not None and case.deadline_at < now


def time_left(case: Case, now: datetime) -> timedelta | None:
    """How long the unit has left (negative: overdue by that much); None while no deadline runs (not dispatched,
    deferred, handled or done)."""
    if case.state not in OVERDUE_STATES or case.deadline_at is None:
        return None
    return case.deadline_at - now


def due_state(case: Case, now: datetime) -> Due | None:
    """Overdue, due soon or on time for a case whose deadline runs; None otherwise."""
    left = time_left(case, now)
    if left is None:
        return None
    return Due.OVERDUE if left < timedelta() else Due.DUE_SOON if left < DUE_SOON else Due.ON_TIME


def _where(query: Select[Case], f: CaseFilter) -> Select[Case]:
    for column, values in (
        (Case.state, f.states),
        (Case.violation, f.violations),
        (Case.grid_id, f.grid_ids),
        (Case.unit_id, f.unit_ids),
        (Case.camera_id, f.camera_ids),
        (Case.place_id, f.place_ids),
        (Case.source, f.sources),
    ):
        if values:
            query = query.where(column.in_(list(values)))
    if f.since is not None:
        query = query.where(Case.first_seen >= f.since)
    if f.until is not None:
        query = query.where(Case.first_seen < f.until)
    if f.overdue is not None:
        overdue = overdue_condition(f.now)
        query = query.where(overdue if f.overdue else ~overdue)
    if f.needs_rework is not None:
        query = query.where(Case.needs_rework.is_(f.needs_rework))
    if f.due is not None:
        query = query.where(due_condition(f.due, f.now))
    if f.supervised is not None:
        query = query.where(Case.supervised_at.is_not(None) if f.supervised else Case.supervised_at.is_(None))
    return query.where(visible_condition(f.units_visible))


def list_cases(session: Session, f: CaseFilter, *, limit: int, offset: int) -> tuple[list[Case], int]:
    """A page of matching cases in ``f.sort`` order, and how many match in all."""
    query = _where(select(Case), f)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if f.sort == "deadline":
        query = query.order_by(Case.deadline_at.is_(None), Case.deadline_at, Case.id)
    else:
        query = query.order_by(Case.id.desc())
    rows = session.scalars(query.limit(limit).offset(offset))
    return list(rows), total


def get_case(session: Session, case_id: int) -> Case | None:
    return session.get(Case, case_id)


def case_events(session: Session, case_id: int) -> list[CaseEvent]:
    """The case's log, oldest first."""
    return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)))


def list_requests(
    session: Session,
    units: frozenset[str] | None,
    states: Collection[RequestState],
    *,
    limit: int,
    newest_first: bool = False,
) -> list[tuple[CaseRequest, Case]]:
    """Units' 延期 / 缓办 requests with their cases, oldest first (the centre's queue) or newest first, in
    ``states`` (empty: any); ``units`` limits them to the cases those units see (a unit handler's)."""
    query = select(CaseRequest, Case).join(Case, Case.id == CaseRequest.case_id).where(visible_condition(units))
    if states:
        query = query.where(CaseRequest.state.in_(sorted(states)))
    order = (
        (CaseRequest.requested_at.desc(), CaseRequest.id.desc())
        if newest_first
        else (CaseRequest.requested_at, CaseRequest.id)
    )
    return [(r, c) for r, c in session.execute(query.order_by(*order).limit(limit))]


def case_evidence(session: Session, case_id: int) -> list[EvidenceLink]:
    return list(session.scalars(select(EvidenceLink).where(EvidenceLink.case_id == case_id).order_by(EvidenceLink.id)))


def case_verdicts(session: Session, case_id: int) -> list[Verdict]:
    return list(session.scalars(select(Verdict).where(Verdict.case_id == case_id).order_by(Verdict.id)))


@dataclass(frozen=True)
class ObservationFilter:
    """Like :class:`CaseFilter`, for sightings: ``since``/``until`` bound ``seen_at``."""

    case_id: int | None = None
    violations: Collection[str] = ()
    camera_ids: Collection[str] = ()
    place_ids: Collection[str] = ()
    since: datetime | None = None
    until: datetime | None = None
    units_visible: frozenset[str] | None = None


def list_observations(
    session: Session, f: ObservationFilter, *, limit: int, offset: int
) -> tuple[list[Observation], int]:
    """A page of sightings, newest first; a unit handler sees those of the cases dispatched to its units."""
    query = select(Observation)
    if f.case_id is not None:
        query = query.where(Observation.case_id == f.case_id)
    for column, values in (
        (Observation.violation, f.violations),
        (Observation.camera_id, f.camera_ids),
        (Observation.place_id, f.place_ids),
    ):
        if values:
            query = query.where(column.in_(list(values)))
    if f.since is not None:
        query = query.where(Observation.seen_at >= f.since)
    if f.until is not None:
        query = query.where(Observation.seen_at < f.until)
    if f.units_visible is not None:
        query = query.where(Observation.case_id.in_(select(Case.id).where(visible_condition(f.units_visible))))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Observation.id.desc()).limit(limit).offset(offset))
    return list(rows), total
