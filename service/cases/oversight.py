"""The centre's oversight of a unit's work, in the caller's transaction: 督办 (supervision, a flag and a log entry,
not a state), and a unit's requests for 延期 (a later deadline) or 缓办 (deferral) that the centre approves, which
runs its own ``extend`` or ``defer``, or refuses.

The case manager owns the transaction and the row locks; these functions check and write.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import CaseError
from domain.lifecycle import UNIT_TODO, Action, CaseState, next_state
from service.cases.caselog import LogAction, log
from service.store.models import Case, CaseRequest, RequestKind, RequestState

ACTION_OF: dict[RequestKind, Action] = {RequestKind.EXTEND: Action.EXTEND, RequestKind.DEFER: Action.DEFER}
_LOGGED = {RequestKind.EXTEND: LogAction.REQUEST_EXTEND, RequestKind.DEFER: LogAction.REQUEST_DEFER}


def supervise(s: Session, case: Case, actor: str, at: datetime, note: str | None) -> None:
    """督办: mark a case the unit still owes (dispatched, extended, deferred, returned) as pressed by the centre."""
    if CaseState(case.state) not in UNIT_TODO:
        raise CaseError(f"case {case.id} is {case.state}: only a case the unit still owes can be supervised (督办)")
    case.supervised_at = at
    case.supervision_count += 1
    log(s, case, LogAction.SUPERVISE, actor, at, note)


def pending_request(s: Session, case_id: int) -> CaseRequest | None:
    pending = CaseRequest.state == RequestState.PENDING
    return s.scalar(select(CaseRequest).where(CaseRequest.case_id == case_id, pending))


def check_deadline(case: Case, kind: RequestKind, deadline: datetime | None) -> None:
    """An extension names a deadline later than the current one; a deferral names none."""
    if kind is RequestKind.DEFER:
        if deadline is not None:
            raise CaseError("a 缓办 (defer) request takes no deadline")
        return
    if deadline is None or case.deadline_at is None or deadline <= case.deadline_at:
        current = case.deadline_at.isoformat() if case.deadline_at else "none"
        raise CaseError(f"a 延期 request on case {case.id} needs a deadline later than the current {current}")


def open_request(
    s: Session,
    case: Case,
    kind: RequestKind,
    *,
    actor: str,
    at: datetime,
    reason: str,
    deadline: datetime | None,
) -> CaseRequest:
    """A unit's request on a case it may still extend or defer; one pending request per case."""
    next_state(CaseState(case.state), ACTION_OF[kind], case.id)  # IllegalTransition: the centre could not grant it
    check_deadline(case, kind, deadline)
    if pending_request(s, case.id) is not None:
        raise CaseError(f"case {case.id} already has a request waiting for the centre's decision")
    row = CaseRequest(
        case_id=case.id,
        kind=kind,
        state=RequestState.PENDING,
        unit_id=case.unit_id,
        reason=reason,
        deadline=deadline,
        requested_by=actor,
        requested_at=at,
    )
    s.add(row)
    wanted = f" until {deadline.isoformat()}" if deadline else ""
    log(s, case, _LOGGED[kind], actor, at, f"{reason}{wanted}")
    return row


def refuse(s: Session, case: Case, request: CaseRequest, *, actor: str, at: datetime, note: str | None) -> None:
    """The centre says no: the request is closed, the case unchanged, both logged."""
    _decided(request, RequestState.REFUSED, actor, at, note)
    log(s, case, LogAction.REFUSE_REQUEST, actor, at, f"{request.kind} request {request.id}: {note or '-'}")


def approve(request: CaseRequest, *, actor: str, at: datetime, note: str | None) -> None:
    """Mark the request approved (the caller runs the extend or defer in the same transaction)."""
    _decided(request, RequestState.APPROVED, actor, at, note)


def _decided(request: CaseRequest, state: RequestState, actor: str, at: datetime, note: str | None) -> None:
    if request.state != RequestState.PENDING:
        raise CaseError(f"request {request.id} was already {request.state}")
    request.state, request.decided_by, request.decided_at, request.decision_note = state, actor, at, note
