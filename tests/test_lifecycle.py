"""The lifecycle table itself, then every transition and every illegal action through the case manager
on both backends (state, side effects, the log)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import select

from domain.errors import CaseError
from domain.lifecycle import (
    OPEN,
    TERMINAL,
    TRANSITIONS,
    Action,
    CaseState,
    IllegalTransition,
    allowed_actions,
    next_state,
)
from service.cases.manager import CaseManager
from service.store.models import Case, CaseEvent, EvidenceLink
from tests.db_fixtures import SHANGHAI, T0, Clock, picture, sighting

pytest_plugins = ["tests.db_fixtures"]

S, A = CaseState, Action
ALL_PAIRS = list(itertools.product(CaseState, Action))

# A shortest way to each state from a fresh (pending review) case.
PATHS: dict[CaseState, list[Action]] = {
    S.PENDING_REVIEW: [],
    S.FILED: [A.FILE],
    S.REJECTED: [A.REJECT],
    S.DISPATCHED: [A.FILE, A.DISPATCH],
    S.EXTENDED: [A.FILE, A.DISPATCH, A.EXTEND],
    S.DEFERRED: [A.FILE, A.DISPATCH, A.DEFER],
    S.HANDLED: [A.FILE, A.DISPATCH, A.HANDLE],
    S.VERIFIED: [A.FILE, A.DISPATCH, A.HANDLE, A.VERIFY],
    S.RETURNED: [A.FILE, A.DISPATCH, A.HANDLE, A.RETURN],
    S.CLOSED: [A.FILE, A.DISPATCH, A.HANDLE, A.VERIFY, A.CLOSE],
}


@pytest.mark.parametrize(("state", "action"), ALL_PAIRS)
def test_table_allows_exactly_its_entries(state: CaseState, action: Action) -> None:
    if (state, action) in TRANSITIONS:
        assert next_state(state, action) is TRANSITIONS[(state, action)]
        assert action in allowed_actions(state)
        return
    with pytest.raises(IllegalTransition) as caught:
        next_state(state, action, case_id=7)
    message = str(caught.value)
    assert f"cannot {action} case 7 in state {state}" in message
    assert all(a in message for a in allowed_actions(state))
    assert (caught.value.state, caught.value.action, caught.value.case_id) == (state, action, 7)


def _reachable(start: CaseState) -> set[CaseState]:
    seen, frontier = {start}, [start]
    while frontier:
        state = frontier.pop()
        for action in allowed_actions(state):
            if (target := TRANSITIONS[(state, action)]) not in seen:
                seen.add(target)
                frontier.append(target)
    return seen


def test_terminal_states_and_reachability() -> None:
    assert {S.CLOSED, S.REJECTED} == TERMINAL and set(CaseState) - TERMINAL == OPEN
    assert "none, closed is terminal" in str(IllegalTransition(S.CLOSED, A.FILE))
    assert _reachable(S.PENDING_REVIEW) == set(CaseState)
    for state in OPEN - {S.PENDING_REVIEW}:  # every filed case can still be closed
        assert S.CLOSED in _reachable(state), state


def _open_case(manager: CaseManager) -> int:
    return manager.ingest(*sighting(), [picture("first")], "m1", "sha-first").case.id


def _do(manager: CaseManager, case_id: int, action: Action, clock: Clock) -> Case:
    """One action with the arguments it needs, one hour after the previous one."""
    at = clock.advance(hours=1)
    if action is A.HANDLE:
        return manager.act(case_id, action, actor="unit", at=at, evidence=[picture(f"fixed-{at}")])
    if action is A.EXTEND:
        with manager.store.session() as s:
            current = s.get_one(Case, case_id).deadline_at
        assert current is not None
        return manager.act(case_id, action, actor="op", at=at, deadline=current + timedelta(days=2))
    return manager.act(case_id, action, actor="op", at=at, note=f"{action} by test")


def _drive(manager: CaseManager, clock: Clock, path: list[Action]) -> int:
    case_id = _open_case(manager)
    for action in path:
        _do(manager, case_id, action, clock)
    return case_id


@pytest.mark.parametrize(("source", "action"), list(TRANSITIONS))
def test_every_transition_through_the_manager(
    manager: CaseManager, clock: Clock, source: CaseState, action: Action
) -> None:
    case_id = _drive(manager, clock, PATHS[source])
    case = _do(manager, case_id, action, clock)
    assert case.state == TRANSITIONS[(source, action)]
    with manager.store.session() as s:
        last = s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id.desc())).first()
    assert last is not None
    assert (last.action, last.from_state, last.to_state, last.at) == (action, source, case.state, clock.now)


@pytest.mark.parametrize("state", list(CaseState))
def test_illegal_actions_fail_and_change_nothing(manager: CaseManager, clock: Clock, state: CaseState) -> None:
    case_id = _drive(manager, clock, PATHS[state])
    with manager.store.session() as s:
        events = len(s.scalars(select(CaseEvent.id).where(CaseEvent.case_id == case_id)).all())
    for action in set(Action) - set(allowed_actions(state)):
        with pytest.raises(IllegalTransition, match=f"cannot {action} case {case_id} in state {state}"):
            manager.act(case_id, action, actor="op", at=clock.advance(minutes=1))
    with manager.store.session() as s:
        assert s.get_one(Case, case_id).state == state
        assert len(s.scalars(select(CaseEvent.id).where(CaseEvent.case_id == case_id)).all()) == events


def test_main_path_sets_deadline_times_and_log(manager: CaseManager, clock: Clock) -> None:
    case_id = _open_case(manager)  # opened Monday 09:00 Shanghai
    manager.act(case_id, A.FILE, actor="op", at=T0 + timedelta(minutes=10))
    case = manager.act(case_id, A.DISPATCH, actor="op", at=T0 + timedelta(minutes=30))
    # Exposed garbage: 4 working hours from 09:30 = 2.5 h to the 12:00 lunch break + 1.5 h from 13:30.
    assert case.deadline_at == T0.replace(hour=15) and case.unit_id == "u-east"
    assert case.dispatched_at == T0 + timedelta(minutes=30)
    case = manager.act(case_id, A.HANDLE, actor="unit", at=T0.replace(hour=11), evidence=[picture("after")])
    assert case.handled_at == T0.replace(hour=11)
    manager.act(case_id, A.VERIFY, actor="inspector", at=T0.replace(hour=12))
    case = manager.act(case_id, A.CLOSE, actor="op", at=T0.replace(hour=13))
    assert (case.state, case.closed_at, case.verified_at) == (S.CLOSED, T0.replace(hour=13), T0.replace(hour=12))
    with manager.store.session() as s:
        log = s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)).all()
        handling = s.scalars(select(EvidenceLink.role).where(EvidenceLink.case_id == case_id)).all()
    assert [(e.actor, e.action, e.from_state, e.to_state) for e in log] == [
        ("gridwatch", "open", None, "pending_review"),
        ("op", "file", "pending_review", "filed"),
        ("op", "dispatch", "filed", "dispatched"),
        ("unit", "handle", "dispatched", "handled"),
        ("inspector", "verify", "handled", "verified"),
        ("op", "close", "verified", "closed"),
    ]
    assert sorted(handling) == ["handling", "sighting"]


def test_rework_keeps_the_deadline_and_counts(manager: CaseManager, clock: Clock) -> None:
    case_id = _drive(manager, clock, PATHS[S.HANDLED])
    with manager.store.session() as s:
        deadline = s.get_one(Case, case_id).deadline_at
    _do(manager, case_id, A.RETURN, clock)
    case = _do(manager, case_id, A.DISPATCH, clock)
    assert (case.deadline_at, case.rework_count) == (deadline, 1)
    for action in (A.HANDLE, A.VERIFY, A.RETURN, A.DISPATCH):
        case = _do(manager, case_id, action, clock)
    assert (case.state, case.rework_count, case.deadline_at) == (S.DISPATCHED, 2, deadline)


def test_resuming_a_deferred_case_restarts_the_clock(manager: CaseManager, clock: Clock) -> None:
    case_id = _drive(manager, clock, PATHS[S.DEFERRED])
    resumed = T0.replace(day=4, hour=10)  # Wednesday 10:00 + 2 h before lunch + 2 h after = 15:30
    case = manager.act(case_id, A.RESUME, actor="op", at=resumed)
    assert (case.state, case.deferral_count, case.deadline_at) == (S.DISPATCHED, 1, resumed.replace(hour=15, minute=30))


def test_extension_needs_a_later_deadline(manager: CaseManager, clock: Clock) -> None:
    case_id = _drive(manager, clock, PATHS[S.DISPATCHED])
    with manager.store.session() as s:
        deadline = s.get_one(Case, case_id).deadline_at
    assert deadline is not None
    for bad in (None, deadline, deadline - timedelta(hours=1)):
        with pytest.raises(CaseError, match="later than the current"):
            manager.act(case_id, A.EXTEND, actor="op", deadline=bad)
    later = deadline + timedelta(days=3)
    case = manager.act(case_id, A.EXTEND, actor="op", deadline=later)
    assert (case.state, case.deadline_at, case.extension_count) == (S.EXTENDED, later, 1)
    case = manager.act(case_id, A.EXTEND, actor="op", deadline=later + timedelta(days=1))
    assert (case.state, case.extension_count) == (S.EXTENDED, 2)


def test_handling_needs_a_photo_and_other_actions_take_none(manager: CaseManager, clock: Clock) -> None:
    case_id = _drive(manager, clock, PATHS[S.DISPATCHED])
    with pytest.raises(CaseError, match="处置反馈 photo"):
        manager.act(case_id, A.HANDLE, actor="unit")
    with pytest.raises(CaseError, match="takes no evidence"):
        manager.act(case_id, A.DEFER, actor="op", evidence=[picture("x")])
    with pytest.raises(CaseError, match="takes no unit"):
        manager.act(case_id, A.DEFER, actor="op", unit_id="u-west")
    with manager.store.session() as s:
        assert s.get_one(Case, case_id).state == S.DISPATCHED


def test_sent_back_case_must_be_dispatched_to_a_named_unit(manager: CaseManager, clock: Clock) -> None:
    case_id = _drive(manager, clock, PATHS[S.DISPATCHED])
    case = _do(manager, case_id, A.SEND_BACK, clock)
    assert (case.state, case.unit_id) == (S.FILED, None)
    with pytest.raises(CaseError, match="needs a unit_id"):
        manager.act(case_id, A.DISPATCH, actor="op")
    redispatched = T0.replace(day=3, hour=9)  # Tuesday
    case = manager.act(case_id, A.DISPATCH, actor="op", at=redispatched, unit_id="u-west")
    assert (case.state, case.unit_id, case.deadline_at) == (
        S.DISPATCHED,
        "u-west",
        redispatched.replace(hour=14, minute=30),
    )
    assert case.deadline_at is not None and case.deadline_at.astimezone(SHANGHAI).hour == 14
    assert case.dispatched_at is not None and case.dispatched_at < redispatched  # first dispatch kept


def test_unknown_case(manager: CaseManager) -> None:
    with pytest.raises(CaseError, match="no case 999"):
        manager.act(999, A.FILE, actor="op")
