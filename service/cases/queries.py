"""Read-side queries over cases and observations for the API and the web UI: filters, pagination, a case's
timeline, evidence and verdicts. Writes go through :class:`~service.cases.manager.CaseManager`."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Select, and_, false, func, select
from sqlalchemy.orm import Session

from domain.lifecycle import CaseState
from service.store.models import Case, CaseEvent, EvidenceLink, Observation, Verdict

# A case is overdue while the unit still owes the work past its deadline. Deferred cases are paused (缓办)
# and handled ones are done as far as the deadline is concerned.
OVERDUE_STATES = frozenset({CaseState.DISPATCHED, CaseState.EXTENDED, CaseState.RETURNED})


@dataclass(frozen=True)
class CaseFilter:
    """What to list; empty collections and None mean "any". ``grids_visible`` None means every grid (a unit
    handler's grids otherwise). ``since``/``until`` bound when the violation was first seen, [since, until)."""

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
    grids_visible: frozenset[str] | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    return and_(Case.state.in_(OVERDUE_STATES), Case.deadline_at.is_not(None), Case.deadline_at < now)


def is_overdue(case: Case, now: datetime) -> bool:
    """:func:`overdue_condition` for a loaded case."""
    return case.state in OVERDUE_STATES and case.deadline_at is not None and case.deadline_at < now


def _where(query: Select[Case], f: CaseFilter) -> Select[Case]:
    for column, values in (
        (Case.state, f.states),
        (Case.violation, f.violations),
        (Case.grid_id, f.grid_ids),
        (Case.unit_id, f.unit_ids),
        (Case.camera_id, f.camera_ids),
        (Case.place_id, f.place_ids),
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
    if f.grids_visible is not None:
        query = query.where(Case.grid_id.in_(sorted(f.grids_visible)) if f.grids_visible else false())
    return query


def list_cases(session: Session, f: CaseFilter, *, limit: int, offset: int) -> tuple[list[Case], int]:
    """A page of matching cases, newest first, and how many match in all."""
    query = _where(select(Case), f)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Case.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def get_case(session: Session, case_id: int) -> Case | None:
    return session.get(Case, case_id)


def case_events(session: Session, case_id: int) -> list[CaseEvent]:
    """The case's log, oldest first."""
    return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)))


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
    grids_visible: frozenset[str] | None = None


def list_observations(
    session: Session, f: ObservationFilter, *, limit: int, offset: int
) -> tuple[list[Observation], int]:
    """A page of sightings, newest first; a unit handler sees those of its grids' cases."""
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
    if f.grids_visible is not None:
        visible = select(Case.id).where(Case.grid_id.in_(sorted(f.grids_visible)))
        query = query.where(Observation.case_id.in_(visible))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Observation.id.desc()).limit(limit).offset(offset))
    return list(rows), total
