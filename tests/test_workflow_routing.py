"""Routing by the dispatched unit: a unit handler sees and acts on exactly the cases dispatched to its unit, once
the centre confirmed them; a re-dispatch moves the case from one unit's view to the other's. A one-grid site places
every sighting in its grid, so the first dispatch after a scan works; the centre corrects a case's place, grid and
unit, in the case's history and the audit log. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from domain.errors import CaseError
from domain.lifecycle import Action
from domain.taxonomy import Violation
from service.cases.manager import CaseManager
from service.cases.manual import ManualReport
from service.cases.placement import locate
from service.cases.relocation import Relocation
from service.core.registry import SiteRegistry
from service.core.site import default_site
from service.store.db import Store
from service.store.evidence import EvidenceStore
from service.store.models import CaseSource
from service.store.sites import sync_site
from tests.api_fixtures import Api
from tests.conftest import SAMPLES
from tests.db_fixtures import SITE, T0, Clock, picture, sighting

pytest_plugins = ["tests.db_fixtures", "tests.api_fixtures"]
CASES = "/api/v1/cases"


def _ids(api: Api, who: str, **params: Any) -> set[int]:
    response = api.client.get(CASES, headers=api.as_(who), params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return {c["id"] for c in response.json()["items"]}


def _act(api: Api, who: str, case_id: int, action: str, **body: Any) -> Any:
    return api.client.post(f"{CASES}/{case_id}/actions/{action}", headers=api.as_(who), json=body or None)


def _sees(api: Api, who: str, case_id: int) -> bool:
    detail = api.client.get(f"{CASES}/{case_id}", headers=api.as_(who)).status_code
    listed = case_id in _ids(api, who)
    assert (detail == 200) == listed, f"{who}: detail {detail} but listed {listed}"
    return listed


def test_only_confirmed_dispatched_cases_reach_a_unit(api: Api) -> None:
    case_id = api.open_case("cam-1", "route-confirm")  # g-east, whose unit is u-east
    assert not _sees(api, "handler_east", case_id)  # an unconfirmed detection
    _act(api, "operator", case_id, "file")
    assert not _sees(api, "handler_east", case_id)  # confirmed, not dispatched
    _act(api, "operator", case_id, "dispatch")
    assert _sees(api, "handler_east", case_id) and not _sees(api, "handler_west", case_id)
    assert (
        api.client.get("/api/v1/observations", headers=api.as_("handler_west"), params={"case_id": case_id}).json()[
            "total"
        ]
        == 0
    )


def test_redispatch_moves_the_case_to_exactly_the_new_unit(api: Api) -> None:
    """Case #4 of the walk: dispatched to one unit, sent back, dispatched to another unit of another grid."""
    case_id = api.dispatch(api.open_case("cam-1", "route-move"))
    assert _sees(api, "handler_east", case_id)
    assert _act(api, "operator", case_id, "send_back", note="not the property office's").status_code == 200
    assert not _sees(api, "handler_east", case_id) and not _sees(api, "handler_west", case_id)
    moved = _act(api, "operator", case_id, "dispatch", unit_id="u-west")
    assert moved.status_code == 200 and moved.json()["unit_id"] == "u-west"
    assert _sees(api, "handler_west", case_id) and not _sees(api, "handler_east", case_id)
    photo = {"photo": ("fix.jpg", (SAMPLES / "bin_point_street.jpg").read_bytes(), "image/jpeg")}
    old_unit = api.client.post(f"{CASES}/{case_id}/handle", headers=api.as_("handler_east"), files=photo)
    assert old_unit.status_code == 404  # the old unit can no longer act on it
    handled = api.client.post(f"{CASES}/{case_id}/handle", headers=api.as_("handler_west"), files=photo)
    assert handled.status_code == 200 and handled.json()["state"] == "handled"
    assert case_id in _ids(api, "handler_west", box="done") and case_id not in _ids(api, "handler_west", box="todo")


def test_a_unit_handlers_send_back_answers_with_the_case_it_let_go(api: Api) -> None:
    case_id = api.dispatch(api.open_case("cam-2", "route-back"))
    answer = _act(api, "handler_west", case_id, "send_back", note="the street office's")
    assert answer.status_code == 200 and answer.json()["state"] == "filed" and answer.json()["unit_id"] is None
    assert not _sees(api, "handler_west", case_id)


def test_the_centre_corrects_place_grid_and_unit_audited(api: Api) -> None:
    case_id = api.dispatch(api.open_case("cam-1", "route-fix"))
    url = f"{CASES}/{case_id}/placement"
    assert api.client.patch(url, headers=api.as_("handler_east"), json={"unit_id": "u-west"}).status_code == 403
    assert api.client.patch(url, headers=api.as_("operator"), json={"lat": 31.23, "lon": 121.47}).status_code == 422
    assert api.client.patch(url, headers=api.as_("operator"), json={"grid_id": "nowhere"}).status_code == 422
    fixed = api.client.patch(url, headers=api.as_("operator"), json={"grid_id": "g-west", "note": "wrong camera map"})
    assert fixed.status_code == 200, fixed.text
    assert (fixed.json()["grid_id"], fixed.json()["unit_id"]) == ("g-west", "u-west")  # the grid's unit follows
    assert _sees(api, "handler_west", case_id) and not _sees(api, "handler_east", case_id)
    [entry] = [e for e in fixed.json()["events"] if e["action"] == "relocate"]
    assert entry["actor"] == "operator" and entry["note"] == (
        "grid_id: g-east -> g-west; unit_id: u-east -> u-west (wrong camera map)"
    )
    same = api.client.patch(url, headers=api.as_("operator"), json={"unit_id": "u-west"})
    assert same.status_code == 422  # nothing to correct
    audit = api.client.get("/api/v1/audit", headers=api.as_("admin"), params={"target": f"case:{case_id}"}).json()
    assert audit["items"][0]["action"] == "case.relocate"


def test_a_hand_filed_case_moves_to_a_place_with_its_grid(manager: CaseManager) -> None:
    report = ManualReport(CaseSource.HOTLINE, Violation.DEBRIS, locate(SITE), T0, "sofas on the pavement")
    case = manager.open_manual(report, actor="operator")
    assert (case.grid_id, case.unit_id, case.place_id) == (None, None, None)  # three grids: no default
    manager.act(case.id, Action.FILE, actor="operator")
    with pytest.raises(CaseError, match="dispatch needs a unit_id"):
        manager.act(case.id, Action.DISPATCH, actor="operator")
    moved = manager.relocate(case.id, Relocation(place_id="p-market"), actor="operator")
    assert (moved.place_id, moved.grid_id, moved.unit_id) == ("p-market", "g-west", "u-west")
    assert manager.act(case.id, Action.DISPATCH, actor="operator").unit_id == "u-west"
    with pytest.raises(CaseError, match="both lat and lon"):
        manager.relocate(case.id, Relocation(lat=31.0), actor="operator")


def test_a_one_grid_site_places_everything_in_its_grid(store: Store, tmp_path: Path) -> None:
    """``make run`` scans onto the default site (one unit, one grid): the first dispatch needs no unit."""
    site = default_site()
    with store.transaction() as session:
        sync_site(session, site, T0)
    manager = CaseManager(store, SiteRegistry(site), EvidenceStore(tmp_path / "ev"), clock=Clock(T0))
    where = locate(site)  # a photo with no GPS, no camera, no place
    assert (where.grid_id, where.unit_id) == ("default", "default")
    event, _ = sighting(camera_id=None)
    case = manager.ingest(event, where, [picture("one-grid")], "m1", "sha-one-grid").case
    assert (case.grid_id, case.unit_id) == ("default", "default")
    manager.act(case.id, Action.FILE, actor="operator")
    dispatched = manager.act(case.id, Action.DISPATCH, actor="operator")
    assert dispatched.unit_id == "default" and dispatched.deadline_at is not None
    assert locate(SITE).grid_id is None  # several grids: no guess
