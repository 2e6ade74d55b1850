"""Each unit's workload now: its 待办 (cases it still owes) with how many are overdue, due soon or supervised
(督办), the requests it is waiting on, and its 已办 (reported handled, verified or closed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.lifecycle import UNIT_DONE, UNIT_TODO
from service.cases.kpi import count_where, unit_condition
from service.cases.queries import Due, due_condition
from service.store.models import Case, CaseRequest, RequestState


@dataclass(frozen=True)
class Workload:
    unit_id: str
    todo: int
    overdue: int
    due_soon: int
    supervised: int
    requests_pending: int
    done: int


def unit_workload(session: Session, now: datetime, units: frozenset[str] | None = None) -> list[Workload]:
    """One row per unit with dispatched cases (of ``units``; None: every unit), sorted by unit id."""
    todo = Case.state.in_(UNIT_TODO)
    rows = session.execute(
        select(
            Case.unit_id,
            count_where(todo),
            count_where(due_condition(Due.OVERDUE, now)),
            count_where(due_condition(Due.DUE_SOON, now)),
            count_where(todo & Case.supervised_at.is_not(None)),
            count_where(Case.state.in_(UNIT_DONE)),
        )
        .where(Case.unit_id.is_not(None), Case.dispatched_at.is_not(None), unit_condition(units))
        .group_by(Case.unit_id)
        .order_by(Case.unit_id)
    ).all()
    pending = dict(
        session.execute(
            select(CaseRequest.unit_id, func.count())
            .where(CaseRequest.state == RequestState.PENDING)
            .group_by(CaseRequest.unit_id)
        ).all()
    )
    return [
        Workload(str(unit), int(t), int(o), int(d), int(sv), int(pending.get(unit, 0)), int(dn))
        for unit, t, o, d, sv, dn in rows
    ]
