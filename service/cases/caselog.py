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


def log(
    s: Session,
    case: Case,
    action: Action | LogAction,
    actor: str,
    at: datetime,
    note: str | None,
    from_state: CaseState | None = None,
) -> None:
    """Append an entry ending in the case's current state; ``from_state`` defaults to it too (no transition), and to
    none for the opening entry."""
    source = from_state if from_state is not None else (None if action is LogAction.OPEN else case.state)
    s.add(
        CaseEvent(case_id=case.id, at=at, actor=actor, action=action, from_state=source, to_state=case.state, note=note)
    )
    s.flush()
