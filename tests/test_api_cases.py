"""Cases through the API: filters and pages, the timeline, lifecycle actions by role (illegal ones 409), the
handling photo, verdicts (bulk too), unit-handler scoping, observations, the audit log and KPI reports; on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from domain.lifecycle import Action
from domain.taxonomy import Violation
from tests.api_fixtures import Api
from tests.conftest import SAMPLES
from tests.db_fixtures import T0

pytest_plugins = ["tests.db_fixtures", "tests.api_fixtures"]
CASES = "/api/v1/cases"


def _act(api: Api, who: str, case_id: int, action: str, **body: Any) -> Any:
    return api.client.post(f"{CASES}/{case_id}/actions/{action}", headers=api.as_(who), json=body or None)


def _handle(api: Api, who: str, case_id: int, data: bytes) -> Any:
    files = {"photo": ("fix.jpg", data, "image/jpeg")}
    return api.client.post(f"{CASES}/{case_id}/handle", headers=api.as_(who), files=files, data={"note": "cleared"})


def _ids(api: Api, who: str = "admin", **params: Any) -> list[int]:
    response = api.client.get(CASES, headers=api.as_(who), params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]]


def test_full_lifecycle_with_roles_and_timeline(api: Api) -> None:
    api.client.cookies.clear()
    case_id = api.open_case("cam-1", "life")
    assert _act(api, "viewer", case_id, "file").status_code == 403
    assert _act(api, "handler_east", case_id, "file").status_code == 404  # not dispatched: no unit's case yet
    assert _act(api, "handler_west", case_id, "file").status_code == 404
    illegal = _act(api, "operator", case_id, "close")
    assert illegal.status_code == 409 and illegal.json()["code"] == "illegal_transition"
    assert "allowed actions: file, reject" in illegal.json()["detail"]
    assert _act(api, "operator", case_id, "file", note="real pile").json()["state"] == "filed"
    dispatched = _act(api, "operator", case_id, "dispatch").json()
    assert dispatched["state"] == "dispatched" and dispatched["unit_id"] == "u-east" and dispatched["deadline_at"]
    assert _act(api, "handler_east", case_id, "verify").status_code == 403  # its case now, not its action
    assert _act(api, "operator", case_id, "extend").status_code == 422  # needs a later deadline
    later = (datetime.fromisoformat(dispatched["deadline_at"]) + timedelta(days=1)).isoformat()
    assert _act(api, "operator", case_id, "extend", deadline=later).json()["state"] == "extended"
    assert _act(api, "operator", case_id, "extend", deadline="2026-03-02T09:00:00").status_code == 422  # naive
    assert _act(api, "handler_east", case_id, "handle").status_code == 422  # the photo is required
    assert _handle(api, "handler_east", case_id, b"not a jpeg").status_code == 422
    photo = (SAMPLES / "bin_point_street.jpg").read_bytes()
    handled = _handle(api, "handler_east", case_id, photo)
    assert handled.status_code == 200 and handled.json()["state"] == "handled"
    assert handled.json()["actions"] == []  # a unit handler can neither verify nor return
    assert [e["role"] for e in handled.json()["evidence"]] == ["sighting", "handling"]
    assert _act(api, "operator", case_id, "verify").status_code == 200
    closed = _act(api, "operator", case_id, "close").json()
    assert closed["state"] == "closed" and closed["actions"] == []
    detail = api.client.get(f"{CASES}/{case_id}", headers=api.as_("viewer")).json()
    steps = [(e["action"], e["actor"], e["to_state"]) for e in detail["events"]]
    assert steps == [
        ("open", "gridwatch", "pending_review"),
        ("file", "operator", "filed"),
        ("dispatch", "operator", "dispatched"),
        ("extend", "operator", "extended"),
        ("handle", "handler_east", "handled"),
        ("verify", "operator", "verified"),
        ("close", "operator", "closed"),
    ]
    assert detail["events"][1]["note"] == "real pile" and detail["actions"] == []
    audit = api.client.get("/api/v1/audit", headers=api.as_("admin"), params={"target": f"case:{case_id}"}).json()
    assert [e["action"] for e in reversed(audit["items"])] == [
        "case.file", "case.dispatch", "case.extend", "case.handle", "case.verify", "case.close"
    ]  # fmt: skip


def test_filters_and_pages(api: Api) -> None:
    east = [api.open_case("cam-1", f"f{i}") for i in range(3)]
    west = api.open_case("cam-2", "fw", Violation.DEBRIS)
    assert set(east) | {west} <= set(_ids(api))
    assert west in _ids(api, grid="g-west") and not set(east) & set(_ids(api, grid="g-west"))
    assert west in _ids(api, camera="cam-2", violation="debris") and not set(east) & set(_ids(api, camera="cam-2"))
    assert west in _ids(api, violation="debris") and not set(east) & set(_ids(api, violation="debris"))
    _act(api, "operator", east[0], "file")
    assert east[0] in _ids(api, state="filed") and east[1] not in _ids(api, state="filed")
    assert {east[0], east[1]} <= set(_ids(api, state=["filed", "pending_review"]))
    assert east[0] not in _ids(api, since="2027-01-01T00:00:00+08:00")
    assert east[0] in _ids(api, since="2026-03-01T00:00:00+08:00", until="2026-03-03T00:00:00+08:00")
    bad = api.client.get(CASES, headers=api.as_("admin"), params={"since": "2026-03-01T00:00:00"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.since"
    assert api.client.get(CASES, headers=api.as_("admin"), params={"state": "nonsense"}).status_code == 422
    assert api.client.get(CASES, headers=api.as_("admin"), params={"limit": 0}).status_code == 422

    everything = _ids(api)
    first = api.client.get(CASES, headers=api.as_("admin"), params={"limit": 2}).json()
    second = api.client.get(CASES, headers=api.as_("admin"), params={"limit": 2, "offset": 2}).json()
    assert first["total"] == second["total"] == len(everything)
    assert [c["id"] for c in first["items"] + second["items"]] == everything[:4]
    assert everything == sorted(everything, reverse=True)


def test_overdue_filter(api: Api) -> None:
    late, fresh = api.open_case("cam-1", "late"), api.open_case("cam-1", "fresh")
    for action in (Action.FILE, Action.DISPATCH):  # dispatched back at T0: due hours later, long past now
        api.ctx.manager.act(late, action, actor="operator", at=T0)
        _act(api, "operator", fresh, action)  # dispatched now: due in working hours from now
    assert late in _ids(api, overdue=True) and fresh not in _ids(api, overdue=True)
    assert fresh in _ids(api, overdue=False) and late not in _ids(api, overdue=False)
    assert api.client.get(f"{CASES}/{late}", headers=api.as_("viewer")).json()["overdue"] is True
    _act(api, "operator", late, "defer")  # 缓办: the clock is paused
    assert late not in _ids(api, overdue=True)


def test_unit_handlers_see_only_cases_dispatched_to_their_unit(api: Api) -> None:
    east, west = api.open_case("cam-1", "scope"), api.open_case("cam-2", "scope")
    assert west not in _ids(api, "handler_west")  # pending review: no unit sees it yet
    for case_id in (east, west):
        _act(api, "operator", case_id, "file")
        _act(api, "operator", case_id, "dispatch")
    mine = _ids(api, "handler_west")
    assert west in mine and east not in mine
    assert api.client.get(f"{CASES}/{east}", headers=api.as_("handler_west")).status_code == 404
    observations = api.client.get("/api/v1/observations", headers=api.as_("handler_west")).json()["items"]
    assert {o["case_id"] for o in observations} <= set(mine) and west in {o["case_id"] for o in observations}
    seen = api.client.get("/api/v1/observations", headers=api.as_("viewer"), params={"case_id": east}).json()
    assert seen["total"] == 1 and seen["items"][0]["camera_id"] == "cam-1"


def test_bulk_actions_report_each_case(api: Api) -> None:
    a, b = api.open_case("cam-1", "bulk-a"), api.open_case("cam-2", "bulk-b")
    _act(api, "operator", b, "reject")
    body = {"case_ids": [a, b, 2**31 - 1], "action": "file", "note": "bulk"}
    results = api.client.post(f"{CASES}/actions", headers=api.as_("operator"), json=body).json()["results"]
    assert [(r["case_id"], r["status"]) for r in results] == [(a, 200), (b, 409), (2**31 - 1, 404)]
    by_handler = api.client.post(f"{CASES}/actions", headers=api.as_("handler_east"), json=body).json()["results"]
    assert [r["status"] for r in by_handler] == [404, 404, 404]  # a filed case has reached no unit
    too_many = {"case_ids": list(range(1, 300)), "action": "file"}
    assert api.client.post(f"{CASES}/actions", headers=api.as_("operator"), json=too_many).status_code == 422


def test_verdicts_single_and_bulk(api: Api) -> None:
    a, b = api.open_case("cam-1", "v-a"), api.open_case("cam-1", "v-bb")
    url = f"{CASES}/{a}/verdicts"
    assert api.client.post(url, headers=api.as_("operator"), json={"verdict": "relabel"}).status_code == 422
    relabel = {"verdict": "relabel", "violation": "debris", "note": "it is debris"}
    made = api.client.post(url, headers=api.as_("operator"), json=relabel)
    assert made.status_code == 201 and made.json()["violation"] == "debris"
    assert api.client.get(f"{CASES}/{a}", headers=api.as_("viewer")).json()["violation"] == "debris"
    items = [{"case_id": b, "verdict": "confirm"}, {"case_id": 2**31 - 1, "verdict": "reject"}]
    results = api.client.post(f"{CASES}/verdicts", headers=api.as_("admin"), json={"items": items}).json()["results"]
    assert [r["status"] for r in results] == [201, 404]
    detail = api.client.get(f"{CASES}/{b}", headers=api.as_("viewer")).json()
    assert [v["verdict"] for v in detail["verdicts"]] == ["confirm"] and detail["verdicts"][0]["actor"] == "admin"


def test_kpi_report_counts_a_closed_case(api: Api) -> None:
    case_id = api.open_case("cam-2", "kpi")
    for action in ("file", "dispatch"):
        _act(api, "operator", case_id, action)
    _handle(api, "handler_west", case_id, (SAMPLES / "bin_point_street.jpg").read_bytes())
    for action in ("verify", "close"):
        _act(api, "operator", case_id, action)
    start = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    end = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    rows = api.client.get(
        "/api/v1/reports/kpis", headers=api.as_("viewer"), params={"start": start, "end": end, "by": "grid"}
    ).json()
    west = next(r for r in rows if r["key"] == "g-west")
    assert west["closed"] >= 1 and west["closure_rate"] is not None and 0 < west["closure_rate"] <= 1
    bad = api.client.get("/api/v1/reports/kpis", headers=api.as_("viewer"), params={"start": end, "end": start})
    assert bad.status_code == 422
    year, week, _ = datetime.now(UTC).isocalendar()
    ranking = api.client.get(
        "/api/v1/reports/ranking", headers=api.as_("viewer"), params={"year": year, "week": week}
    ).json()
    assert ranking["week"] == f"{year}-W{week:02d}"
    assert api.client.get("/api/v1/reports/ranking", headers=api.as_("viewer"), params={"week": 54}).status_code == 422


def _evidence_files(api: Api) -> set[str]:
    return {blob.sha256 for blob in api.ctx.evidence.blobs()}


def test_a_refused_action_leaves_no_evidence_and_no_audit_row(api: Api) -> None:
    """The handling photo is written only once the action is allowed (409 here: the case is not dispatched), and the
    audit row belongs to the action's transaction: none for a refusal, one for a success."""
    case_id = api.open_case("cam-1", "refused")
    before = _evidence_files(api)
    photo = (SAMPLES / "bin_point_street.jpg").read_bytes()
    refused = _handle(api, "operator", case_id, photo)
    assert refused.status_code == 409
    assert _evidence_files(api) == before
    audit_rows = api.client.get("/api/v1/audit", headers=api.as_("admin"), params={"target": f"case:{case_id}"})
    assert audit_rows.json()["items"] == []
    assert _act(api, "operator", case_id, "file").status_code == 200
    audit_rows = api.client.get("/api/v1/audit", headers=api.as_("admin"), params={"target": f"case:{case_id}"})
    assert [e["action"] for e in audit_rows.json()["items"]] == ["case.file"]
