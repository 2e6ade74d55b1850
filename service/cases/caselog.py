"""The case log: one row per lifecycle transition and per system note (opened, proposed rectified, rework)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from domain.lifecycle import Action, CaseState
from service.store.models import Case, CaseEvent

SYSTEM_ACTOR = "gridwatch"


class LogAction(StrEnum):
    """Event-log entries that are not lifecycle transitions (the state stays the same)."""

    OPEN = "open"
    PROPOSE_RECTIFIED = "propose_rectified"
    FLAG_REWORK = "flag_rework"
    VERDICT = "verdict"
    SUPERVISE = "supervise"  # 督办: the centre presses the unit
    REQUEST_EXTEND = "request_extend"  # the unit asks for 延期
    REQUEST_DEFER = "request_defer"  # the unit asks for 缓办
    REFUSE_REQUEST = "refuse_request"  # the centre says no (an approval is logged as the extend or defer itself)
    RELOCATE = "relocate"  # the centre corrects where the case is: place, position, grid, unit


def log(
    s: Session,
    case: Case,
    action: Action | LogAction,
    actor: str,
    at: datetime,
    note: str | None,
    from_state: CaseState | None = None,
    deadlines: tuple[datetime | None, datetime | None] | None = None,
) -> None:
    """Append an entry ending in the case's current state; ``from_state`` defaults to it too (no transition), and to
    none for the opening entry. ``deadlines`` (old, new) is given by an entry that moved the deadline."""
    source = from_state if from_state is not None else (None if action is LogAction.OPEN else case.state)
    before, after = deadlines or (None, None)
    s.add(
        CaseEvent(
            case_id=case.id,
            at=at,
            actor=actor,
            action=action,
            from_state=source,
            to_state=case.state,
            note=note,
            deadline_before=before,
            deadline_after=after,
        )
    )
    s.flush()
