"""Operators' actions on a case: what each action takes, and its side effects once the lifecycle table allowed it
(:mod:`domain.lifecycle` decides whether; this module what follows)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import CaseError
from domain.lifecycle import OPEN, Action, CaseState
from domain.taxonomy import Violation
from service.store.models import Case

Deadline = Callable[[Case, datetime], datetime]
"""The deadline of a case's violation counted from a start (working time of the site's calendar)."""


def check_arguments(action: Action, *, has_evidence: bool, unit_id: str | None, deadline: datetime | None) -> None:
    """Refuse an argument the action does not take (each belongs to one action)."""
    if has_evidence and action is not Action.HANDLE:
        raise CaseError(f"{action} takes no evidence; only {Action.HANDLE} does (the 处置反馈 photo)")
    if unit_id is not None and action is not Action.DISPATCH:
        raise CaseError(f"{action} takes no unit; only {Action.DISPATCH} does")
    if deadline is not None and action is not Action.EXTEND:
        raise CaseError(f"{action} takes no deadline; only {Action.EXTEND} does")


def apply_action(
    case: Case,
    state: CaseState,
    action: Action,
    at: datetime,
    *,
    unit_id: str | None,
    deadline: datetime | None,
    has_evidence: bool,
    deadline_for: Deadline,
) -> None:
    """Side effects of a transition already allowed by the table, from ``state``; :class:`CaseError` for a missing
    argument (dispatch without a unit, handle without the photo, extend without a later deadline)."""
    match action:
        case Action.FILE:
            case.filed_at = at
        case Action.DISPATCH:
            case.unit_id = unit_id or case.unit_id
            if case.unit_id is None:
                raise CaseError(f"case {case.id} has no responsible unit: dispatch needs a unit_id")
            case.dispatched_at = case.dispatched_at or at
            if state is CaseState.FILED:  # a returned case keeps its deadline: rework buys no time
                case.deadline_at = deadline_for(case, at)
        case Action.RESUME:
            case.deadline_at = deadline_for(case, at)
        case Action.HANDLE:
            if not has_evidence:
                raise CaseError(f"handling case {case.id} needs the 处置反馈 photo as evidence")
            case.handled_at, case.needs_rework = at, False
        case Action.EXTEND:
            if deadline is None or case.deadline_at is None or deadline <= case.deadline_at:
                current = case.deadline_at.isoformat() if case.deadline_at else "none"
                raise CaseError(f"extending case {case.id} needs a deadline later than the current {current}")
            case.deadline_at = deadline
            case.extension_count += 1
        case Action.DEFER:
            case.deferral_count += 1
        case Action.SEND_BACK:
            case.unit_id = None  # not theirs: the next dispatch must name the unit
        case Action.VERIFY:
            case.verified_at = at
        case Action.RETURN:
            case.rework_count += 1
            case.needs_rework = case.rectified_proposed = False
        case Action.CLOSE:
            case.closed_at = at
            case.needs_rework = case.rectified_proposed = False
        case Action.REJECT:
            pass


def refuse_duplicate_open(s: Session, case: Case, violation: Violation) -> None:
    """A relabel may not make a second open case of one violation at a place (the schema's unique index)."""
    if case.camera_id is not None or case.place_id is None:
        return
    other = s.scalar(
        select(Case.id).where(
            Case.violation == violation,
            Case.place_id == case.place_id,
            Case.camera_id.is_(None),
            Case.state.in_(OPEN),
            Case.id != case.id,
        )
    )
    if other is not None:
        # a case being filed has no id yet: there is nothing to reject, only a duplicate not to file
        instead = "file none" if case.id is None else f"reject case {case.id}"
        raise CaseError(f"case {other} is already open for {violation} at {case.place_id}: {instead} instead")
