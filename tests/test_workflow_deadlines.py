"""Deadlines in view: time left, due-soon and overdue states (in Python and in SQL alike), the deadline sort, a
unit's 待办 and 已办, 督办 by the centre, a unit's requests for 延期 and 缓办 that the centre approves or refuses,
and a history that keeps each old and new deadline. On SQLite and PostgreSQL, through the case manager (with a
clock the test moves) and through the API.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.errors import CaseError
from domain.lifecycle import Action, IllegalTransition
from domain.taxonomy import Violation
from service.cases.manager import CaseManager
from service.cases.queries import DUE_SOON, CaseFilter, Due, case_events, due_state, list_cases, time_left
from service.cases.workload import unit_workload
from service.store.models import Case, RequestKind, RequestState
from tests.api_fixtures import Api
from tests.db_fixtures import T0, Clock, picture, sighting

pytest_plugins = ["tests.db_fixtures", "tests.api_fixtures"]
CASES = "/api/v1/cases"


def _dispatched(manager: CaseManager, tag: str, violation: Violation = Violation.EXPOSED_GARBAGE, **where: Any) -> Case:
    box = {"a": (0.0, 0.0, 0.2, 0.2), "b": (0.3, 0.3, 0.5, 0.5), "c": (0.6, 0.6, 0.8, 0.8)}[tag[0]]
    case = manager.ingest(*sighting(violation, bbox=box, **where), [picture(tag)], "m1", f"sha-{tag}").case
    manager.act(case.id, Action.FILE, actor="operator")
    return manager.act(case.id, Action.DISPATCH, actor="operator")


def _listed(manager: CaseManager, now: datetime, **f: Any) -> list[int]:
    with manager.store.session() as s:
        rows, _ = list_cases(s, CaseFilter(now=now, **f), limit=100, offset=0)
        return [c.id for c in rows]


def test_time_left_and_due_states_agree_in_python_and_sql(manager: CaseManager) -> None:
    case = _dispatched(manager, "a-due")
    assert case.deadline_at is not None and case.deadline_at > T0
    deadline = case.deadline_at
    for now, expected in [
        (deadline - DUE_SOON - timedelta(minutes=1), Due.ON_TIME),
        (deadline - timedelta(hours=1), Due.DUE_SOON),
        (deadline + timedelta(minutes=1), Due.OVERDUE),
    ]:
        assert due_state(case, now) is expected
        assert time_left(case, now) == deadline - now
        for state in Due:
            assert (case.id in _listed(manager, now, due=state)) == (state is expected), (now, state)
    manager.act(case.id, Action.DEFER, actor="operator")  # 缓办: the clock stops
    with manager.store.session() as s:
        deferred = s.get_one(Case, case.id)
    assert due_state(deferred, deadline + timedelta(days=1)) is None and time_left(deferred, deadline) is None
    assert case.id not in _listed(manager, deadline + timedelta(days=1), due=Due.OVERDUE)


def test_a_units_todo_sorted_by_deadline_and_its_done(manager: CaseManager, clock: Clock) -> None:
    parking = _dispatched(manager, "a-park", Violation.MOTOR_PARKING)  # 2 working hours
    graffiti = _dispatched(manager, "b-graf", Violation.FACADE_GRAFFITI)  # 3 working days
    garbage = _dispatched(manager, "c-garb")  # 4 working hours
    pending = manager.ingest(*sighting(camera_id="cam-2"), [picture("pend")], "m1", "sha-pend").case
    assert _listed(manager, T0, sort="deadline", units_visible=frozenset({"u-east"})) == [
        parking.id,
        garbage.id,
        graffiti.id,
    ]
    everything = _listed(manager, T0, sort="deadline")
    assert everything[-1] == pending.id  # no deadline: last
    clock.advance(hours=1)
    manager.act(garbage.id, Action.HANDLE, actor="handler_east", evidence=[picture("fixed")])
    with manager.store.session() as s:
        [east] = unit_workload(s, T0 + timedelta(hours=3), frozenset({"u-east"}))
    assert (east.unit_id, east.todo, east.done, east.overdue, east.due_soon) == ("u-east", 2, 1, 1, 0)


def test_supervision_marks_a_case_the_unit_still_owes(manager: CaseManager, clock: Clock) -> None:
    case = _dispatched(manager, "a-sup")
    clock.advance(hours=3)
    pressed = manager.supervise(case.id, actor="operator", note="the inspection is tomorrow")
    assert (pressed.supervised_at, pressed.supervision_count, pressed.state) == (clock.now, 1, "dispatched")
    assert manager.supervise(case.id, actor="operator").supervision_count == 2
    assert case.id in _listed(manager, clock.now, supervised=True)
    with manager.store.session() as s:
        assert [e.note for e in case_events(s, case.id) if e.action == "supervise"] == [
            "the inspection is tomorrow",
            None,
        ]
    fresh = manager.ingest(*sighting(camera_id="cam-2"), [picture("s2")], "m1", "sha-s2").case
    with pytest.raises(CaseError, match="still owes"):
        manager.supervise(fresh.id, actor="operator")


def test_extension_request_approved_keeps_old_and_new_deadline(manager: CaseManager, clock: Clock) -> None:
    case = _dispatched(manager, "a-ext")
    first = case.deadline_at
    assert first is not None
    wanted = first + timedelta(days=2)
    with pytest.raises(CaseError, match="later than the current"):
        manager.request(case.id, RequestKind.EXTEND, actor="handler_east", reason="r", deadline=first)
    with pytest.raises(CaseError, match="takes no deadline"):
        manager.request(case.id, RequestKind.DEFER, actor="handler_east", reason="r", deadline=wanted)
    asked = manager.request(case.id, RequestKind.EXTEND, actor="handler_east", reason="crane booked", deadline=wanted)
    assert (asked.state, asked.unit_id) == (RequestState.PENDING, "u-east")
    with pytest.raises(CaseError, match="already has a request"):
        manager.request(case.id, RequestKind.DEFER, actor="handler_east", reason="again")
    clock.advance(minutes=30)
    granted = manager.decide(asked.id, True, actor="operator", note="once")
    assert (granted.state, granted.decided_by) == (RequestState.APPROVED, "operator")
    with pytest.raises(CaseError, match="already approved"):
        manager.decide(asked.id, False, actor="operator")
    with manager.store.session() as s:
        now = s.get_one(Case, case.id)
        events = case_events(s, case.id)
    assert (now.state, now.deadline_at, now.extension_count) == ("extended", wanted, 1)
    history = [(e.action, e.deadline_before, e.deadline_after) for e in events if e.deadline_after or e.deadline_before]
    assert history == [("dispatch", None, first), ("extend", first, wanted)]
    assert [e.action for e in events][-2:] == ["request_extend", "extend"]
    assert events[-1].note == f"extend request {asked.id} approved: crane booked (once)"


def test_deferral_request_refused_then_approved_with_the_centres_deadline(manager: CaseManager, clock: Clock) -> None:
    case = _dispatched(manager, "a-def")
    asked = manager.request(case.id, RequestKind.DEFER, actor="handler_east", reason="resident away")
    refused = manager.decide(asked.id, False, actor="operator", note="clear the pavement now")
    assert refused.state == RequestState.REFUSED
    with manager.store.session() as s:
        unchanged = s.get_one(Case, case.id)
        assert [e.action for e in case_events(s, case.id)][-1] == "refuse_request"
    assert (unchanged.state, unchanged.deadline_at) == ("dispatched", case.deadline_at)
    deferred = manager.request(case.id, RequestKind.DEFER, actor="handler_east", reason="resident away, again")
    assert manager.decide(deferred.id, True, actor="operator").state == RequestState.APPROVED
    with manager.store.session() as s:
        assert s.get_one(Case, case.id).state == "deferred"
    clock.advance(days=1)
    resumed = manager.act(case.id, Action.RESUME, actor="operator")
    with manager.store.session() as s:
        last = case_events(s, case.id)[-1]
    assert (last.action, last.deadline_before, last.deadline_after) == ("resume", case.deadline_at, resumed.deadline_at)
    # An extension granted with another deadline than the one asked for; a request overtaken by the work.
    assert case.deadline_at is not None and resumed.deadline_at is not None
    ask = manager.request(
        case.id, RequestKind.EXTEND, actor="handler_east", reason="r", deadline=resumed.deadline_at + timedelta(days=5)
    )
    centre = resumed.deadline_at + timedelta(days=1)
    manager.decide(ask.id, True, actor="operator", deadline=centre)
    with manager.store.session() as s:
        assert s.get_one(Case, case.id).deadline_at == centre
    late = manager.request(case.id, RequestKind.DEFER, actor="handler_east", reason="r")
    manager.act(case.id, Action.HANDLE, actor="handler_east", evidence=[picture("done")])
    with pytest.raises(IllegalTransition):
        manager.decide(late.id, True, actor="operator")
    assert manager.decide(late.id, False, actor="operator", note="handled meanwhile").state == RequestState.REFUSED


def _post(api: Api, who: str, path: str, body: Any = None) -> Any:
    return api.client.post(path, headers=api.as_(who), json=body)


def test_deadlines_requests_and_supervision_through_the_api(api: Api) -> None:
    case_id = api.dispatch(api.open_case("cam-2", "api-deadline"))  # g-west: u-west
    view = api.client.get(f"{CASES}/{case_id}", headers=api.as_("handler_west")).json()
    left = datetime.fromisoformat(view["deadline_at"]) - datetime.now(UTC)
    assert view["due"] in ("on_time", "due_soon") and abs(view["time_left_s"] - left.total_seconds()) < 60
    todo = api.client.get(CASES, headers=api.as_("handler_west"), params={"box": "todo", "sort": "deadline"}).json()
    deadlines = [c["deadline_at"] for c in todo["items"]]
    assert case_id in {c["id"] for c in todo["items"]} and deadlines == sorted(deadlines)
    wanted = (datetime.fromisoformat(view["deadline_at"]) + timedelta(days=3)).isoformat()
    body = {"kind": "extend", "reason": "needs a truck", "deadline": wanted}
    assert _post(api, "handler_east", f"{CASES}/{case_id}/requests", body).status_code == 404  # not its unit
    assert _post(api, "viewer", f"{CASES}/{case_id}/requests", body).status_code == 403
    made = _post(api, "handler_west", f"{CASES}/{case_id}/requests", body)
    assert made.status_code == 201 and made.json()["state"] == "pending", made.text
    request_id = made.json()["id"]
    assert _post(api, "handler_west", f"{CASES}/{case_id}/requests", body).status_code == 422  # one at a time
    queue = api.client.get("/api/v1/requests", headers=api.as_("operator")).json()
    assert request_id in {r["id"] for r in queue}
    assert request_id not in {
        r["id"] for r in api.client.get("/api/v1/requests", headers=api.as_("handler_east")).json()
    }
    assert _post(api, "handler_west", f"/api/v1/requests/{request_id}/approve").status_code == 403
    assert _post(api, "operator", "/api/v1/requests/999999/approve").status_code == 404
    approved = _post(api, "operator", f"/api/v1/requests/{request_id}/approve", {"note": "ok"})
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    detail = api.client.get(f"{CASES}/{case_id}", headers=api.as_("handler_west")).json()
    assert detail["state"] == "extended" and datetime.fromisoformat(detail["deadline_at"]) == datetime.fromisoformat(
        wanted
    )
    extend = detail["events"][-1]
    assert extend["action"] == "extend" and extend["deadline_before"] == view["deadline_at"]
    assert datetime.fromisoformat(extend["deadline_after"]) == datetime.fromisoformat(wanted)
    assert _post(api, "handler_west", f"{CASES}/{case_id}/supervise").status_code == 403
    pressed = _post(api, "operator", f"{CASES}/{case_id}/supervise", {"note": "督办: 今日内处理"})
    assert pressed.status_code == 200 and pressed.json()["supervision_count"] == 1
    supervised = api.client.get(CASES, headers=api.as_("handler_west"), params={"supervised": True}).json()
    assert case_id in {c["id"] for c in supervised["items"]}
    mine = api.client.get("/api/v1/units/workload", headers=api.as_("handler_west")).json()
    assert [w["unit_id"] for w in mine] == ["u-west"] and mine[0]["supervised"] >= 1
    everyone = api.client.get("/api/v1/units/workload", headers=api.as_("operator")).json()
    assert {w["unit_id"] for w in everyone} >= {"u-west"}
    audit = api.client.get("/api/v1/audit", headers=api.as_("admin"), params={"target": f"request:{request_id}"})
    assert [e["action"] for e in audit.json()["items"]] == ["request.approve"]


def test_the_case_page_offers_supervision_requests_and_time_left(api: Api) -> None:
    case_id = api.dispatch(api.open_case("cam-2", "page-workflow"))
    unit = api.client.get(f"/cases/{case_id}", headers=api.as_("handler_west"), params={"lang": "zh"}).text
    assert 'data-action="request_extend"' in unit and 'data-action="request_defer"' in unit and "申请延期" in unit
    assert re.search(r"剩余 \d+\.\d 小时", unit) and 'data-action="supervise"' not in unit
    centre = api.client.get(f"/cases/{case_id}", headers=api.as_("operator"), params={"lang": "zh"}).text
    assert 'data-action="supervise"' in centre and 'data-action="request_extend"' not in centre
    listed = api.client.get("/cases", headers=api.as_("handler_west"), params={"lang": "en"}).text
    assert re.search(r"\d+\.\d h left", listed)
