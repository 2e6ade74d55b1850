"""The case lifecycle: one explicit table of allowed transitions, enforced in one place.

States follow the digital city-management workflow (GB/T 30428.8, see ../shared/DOMAIN.md):

======================  ============  ==================  ====================================================
from state              action        to state            meaning and side effects (applied by the case manager)
======================  ============  ==================  ====================================================
pending_review          file          filed               立案: the centre accepts the case
pending_review          reject        rejected            不予立案: not a violation (terminal)
filed                   dispatch      dispatched          派遣 to a unit; the deadline clock starts
dispatched              handle        handled             处置反馈: the unit reports back, a photo is required
dispatched              extend        extended            延期: a later deadline is granted
dispatched              defer         deferred            缓办: handling postponed, left out of on-time KPIs
dispatched              send_back     filed               退回: the unit says it is not theirs; re-dispatch
extended                handle        handled             as from dispatched
extended                extend        extended            a further extension
extended                defer         deferred            as from dispatched
extended                send_back     filed               as from dispatched
deferred                resume        dispatched          the clock restarts from the resumption
handled                 verify        verified            核查: an inspector confirms it is fixed
handled                 return        returned            返工: the fix did not hold (counts against the unit)
verified                close         closed              结案 (terminal)
verified                return        returned            返工 found after verification, before closure
returned                dispatch      dispatched          sent back to the unit; the original deadline stays
======================  ============  ==================  ====================================================

``rejected`` and ``closed`` are terminal. 督办 (supervision) and the automatic proposals (rectified,
needs rework) are flags on the case, not states: they advise the operator, who then acts. A unit asks for 延期 or
缓办 with a request the centre approves (then the centre's ``extend`` or ``defer`` runs) or refuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from domain.errors import GridWatchError


class CaseState(StrEnum):
    """Where a case is in its life."""

    PENDING_REVIEW = "pending_review"
    FILED = "filed"
    REJECTED = "rejected"
    DISPATCHED = "dispatched"
    EXTENDED = "extended"
    DEFERRED = "deferred"
    HANDLED = "handled"
    VERIFIED = "verified"
    RETURNED = "returned"
    CLOSED = "closed"


class Action(StrEnum):
    """What an operator (or a unit, through the operator) does to a case."""

    FILE = "file"
    REJECT = "reject"
    DISPATCH = "dispatch"
    HANDLE = "handle"
    EXTEND = "extend"
    DEFER = "defer"
    SEND_BACK = "send_back"
    RESUME = "resume"
    VERIFY = "verify"
    RETURN = "return"
    CLOSE = "close"


_S, _A = CaseState, Action

TRANSITIONS: Mapping[tuple[CaseState, Action], CaseState] = MappingProxyType(
    {
        (_S.PENDING_REVIEW, _A.FILE): _S.FILED,
        (_S.PENDING_REVIEW, _A.REJECT): _S.REJECTED,
        (_S.FILED, _A.DISPATCH): _S.DISPATCHED,
        (_S.DISPATCHED, _A.HANDLE): _S.HANDLED,
        (_S.DISPATCHED, _A.EXTEND): _S.EXTENDED,
        (_S.DISPATCHED, _A.DEFER): _S.DEFERRED,
        (_S.DISPATCHED, _A.SEND_BACK): _S.FILED,
        (_S.EXTENDED, _A.HANDLE): _S.HANDLED,
        (_S.EXTENDED, _A.EXTEND): _S.EXTENDED,
        (_S.EXTENDED, _A.DEFER): _S.DEFERRED,
        (_S.EXTENDED, _A.SEND_BACK): _S.FILED,
        (_S.DEFERRED, _A.RESUME): _S.DISPATCHED,
        (_S.HANDLED, _A.VERIFY): _S.VERIFIED,
        (_S.HANDLED, _A.RETURN): _S.RETURNED,
        (_S.VERIFIED, _A.CLOSE): _S.CLOSED,
        (_S.VERIFIED, _A.RETURN): _S.RETURNED,
        (_S.RETURNED, _A.DISPATCH): _S.DISPATCHED,
    }
)

TERMINAL: frozenset[CaseState] = frozenset(s for s in CaseState if not any(k[0] is s for k in TRANSITIONS))
OPEN: frozenset[CaseState] = frozenset(CaseState) - TERMINAL
# States in which the unit holds the case, so a camera seeing the place clear means it was rectified.
IN_UNIT_HANDS: frozenset[CaseState] = frozenset({_S.DISPATCHED, _S.EXTENDED, _S.DEFERRED, _S.HANDLED, _S.RETURNED})
# A unit's 待办: the states in which it still owes the work (a deferred case waits, but is still its own).
UNIT_TODO: frozenset[CaseState] = frozenset({_S.DISPATCHED, _S.EXTENDED, _S.DEFERRED, _S.RETURNED})
# A unit's 已办: it reported the work done; the centre verifies and closes.
UNIT_DONE: frozenset[CaseState] = frozenset({_S.HANDLED, _S.VERIFIED, _S.CLOSED})
# States a case is in once the centre confirmed and dispatched it: the only cases a unit ever sees.
REACHED_UNIT: frozenset[CaseState] = UNIT_TODO | UNIT_DONE


class IllegalTransition(GridWatchError):  # noqa: N818 - the name is part of the cases API
    """An action that the transition table does not allow from the case's current state."""

    def __init__(self, state: CaseState, action: Action, case_id: int | None = None) -> None:
        self.state, self.action, self.case_id = state, action, case_id
        allowed = allowed_actions(state)
        which = f"case {case_id} " if case_id is not None else ""
        hint = ", ".join(allowed) if allowed else f"none, {state} is terminal"
        super().__init__(f"cannot {action} {which}in state {state}; allowed actions: {hint}")


def allowed_actions(state: CaseState) -> tuple[Action, ...]:
    """The actions allowed from ``state``, in table order."""
    return tuple(action for (source, action) in TRANSITIONS if source is state)


def next_state(state: CaseState, action: Action, case_id: int | None = None) -> CaseState:
    """The state ``action`` leads to from ``state``; raises :class:`IllegalTransition` if not allowed."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalTransition(state, action, case_id) from None
