"""Which role may take which case action. Admins and operators (the supervision centre) take every action the
lifecycle allows; a unit handler reports its unit's work on cases of its own grids: handled (处置反馈, with
the photo) or sent back as not theirs (退回). Viewers change nothing."""

from __future__ import annotations

from types import MappingProxyType

from domain.lifecycle import UNIT_TODO, Action, CaseState, allowed_actions
from service.store.models import Role

ROLE_ACTIONS = MappingProxyType(
    {
        Role.ADMIN: frozenset(Action),
        Role.OPERATOR: frozenset(Action),
        Role.UNIT_HANDLER: frozenset({Action.HANDLE, Action.SEND_BACK}),
        Role.VIEWER: frozenset[Action](),
    }
)
# Confirm / reject / relabel a detection: review is the centre's job.
REVIEWERS = frozenset({Role.ADMIN, Role.OPERATOR})


def may_act(role: Role | None, action: Action) -> bool:
    return role is not None and action in ROLE_ACTIONS[role]


def workflow_actions(role: Role | None, state: CaseState) -> list[str]:
    """The centre's 督办 on a case the unit still owes; a unit's requests for 延期 / 缓办 where the centre could
    grant them (the case-log names of these entries, for the UI's buttons)."""
    if role in REVIEWERS and state in UNIT_TODO:
        return ["supervise"]
    if role is Role.UNIT_HANDLER and state in (CaseState.DISPATCHED, CaseState.EXTENDED):
        return ["request_extend", "request_defer"]
    return []


def actions_for(role: Role | None, state: CaseState) -> list[Action]:
    """The actions ``role`` may take on a case in ``state`` now (for the UI's buttons)."""
    return [a for a in allowed_actions(state) if may_act(role, a)]
