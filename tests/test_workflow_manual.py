"""Cases from people: a hotline call (12345) and an inspector's report enter the same workflow as a detection, with
their source recorded and a photo optional; a violation the cameras missed is recorded against a camera and a time.
On SQLite and PostgreSQL, through the API.
"""

from __future__ import annotations

from typing import Any

from tests.api_fixtures import Api
from tests.conftest import SAMPLES

pytest_plugins = ["tests.db_fixtures", "tests.api_fixtures"]
CASES = "/api/v1/cases"
PHOTO = SAMPLES / "bin_point_street.jpg"


def _file(api: Api, form: dict[str, str], who: str = "operator", photo: bytes | None = None) -> Any:
    files = {"photo": ("call.jpg", photo, "image/jpeg")} if photo is not None else None
    return api.client.post(f"{CASES}/manual", headers=api.as_(who), data=form, files=files)


def _act(api: Api, who: str, case_id: int, action: str) -> Any:
    return api.client.post(f"{CASES}/{case_id}/actions/{action}", headers=api.as_(who))


def test_a_hotline_case_goes_through_the_whole_workflow(api: Api) -> None:
    call = {
        "source": "hotline",
        "violation": "exposed_garbage",
        "description": "12345 来电: 菜市场巷口垃圾堆了两天",
        "reporter": "138****0000",
        "place_id": "p-market",
    }
    assert _file(api, call, "handler_west").status_code == 403
    made = _file(api, call)  # no photo: a phone call has none
    assert made.status_code == 201, made.text
    case = made.json()
    assert (case["state"], case["source"], case["reporter"]) == ("pending_review", "hotline", "138****0000")
    assert (case["place_id"], case["grid_id"], case["unit_id"], case["camera_id"]) == (
        "p-market",
        "g-west",
        "u-west",
        None,
    )
    assert case["violation"] == "exposed_garbage" and case["event_code"] == "06010" and case["evidence"] == []
    assert case["events"][0]["action"] == "open" and case["events"][0]["note"] == f"hotline: {call['description']}"
    again = _file(api, call)
    assert again.status_code == 422 and f"case {case['id']} is already open" in again.json()["detail"]
    for action in ("file", "dispatch"):
        assert _act(api, "operator", case["id"], action).status_code == 200
    files = {"photo": ("fixed.jpg", PHOTO.read_bytes(), "image/jpeg")}
    handled = api.client.post(f"{CASES}/{case['id']}/handle", headers=api.as_("handler_west"), files=files)
    assert handled.status_code == 200 and handled.json()["state"] == "handled"
    for action in ("verify", "close"):
        assert _act(api, "operator", case["id"], action).status_code == 200
    hotline = api.client.get(CASES, headers=api.as_("viewer"), params={"source": "hotline"}).json()["items"]
    assert [c["id"] for c in hotline] == [case["id"]] and hotline[0]["state"] == "closed"
    audit = api.client.get("/api/v1/audit", headers=api.as_("admin"), params={"target": f"case:{case['id']}"}).json()
    assert audit["items"][-1]["action"] == "case.file_manual"


def test_an_inspector_report_with_a_photo_at_a_position(api: Api) -> None:
    report = {"source": "inspector", "violation": "debris", "description": "网格员巡查: 楼道口堆放旧家具"}
    made = _file(api, report | {"lat": "31.2250", "lon": "121.4700"}, photo=PHOTO.read_bytes())
    assert made.status_code == 201, made.text
    case = made.json()
    assert (case["source"], case["grid_id"], case["unit_id"], case["place_id"]) == (
        "inspector",
        "g-east",
        "u-east",
        None,
    )
    assert [(e["kind"], e["role"]) for e in case["evidence"]] == [("original", "sighting")]
    sha = case["evidence"][0]["sha256"]
    assert api.client.get(f"/api/v1/evidence/{sha}", headers=api.as_("operator")).status_code == 200
    bad = {"source": "inspector", "violation": "debris", "description": "x"}
    assert _file(api, bad, photo=b"not a photo").status_code == 422
    assert _file(api, bad | {"lat": "31.2"}).status_code == 422  # half a position
    assert _file(api, bad | {"place_id": "nowhere"}).status_code == 422
    assert _file(api, bad | {"source": "detector"}).status_code == 422


def test_a_miss_is_tied_to_a_camera_and_a_time(api: Api) -> None:
    url = "/api/v1/quality/misses"
    miss = {"camera_id": "cam-2", "seen_at": "2026-03-03T10:00:00+08:00", "violation": "exposed_garbage"}
    assert api.client.post(url, headers=api.as_("handler_west"), json=miss).status_code == 403
    made = api.client.post(url, headers=api.as_("operator"), json=miss | {"note": "巡查发现, 摄像头未报"})
    assert made.status_code == 201, made.text
    assert (made.json()["label"], made.json()["reported_by"]) == ("garbage", "operator")
    parking = miss | {"violation": "motor_parking"}
    ambiguous = api.client.post(url, headers=api.as_("operator"), json=parking)
    assert ambiguous.status_code == 422 and "say which label" in ambiguous.json()["detail"]
    assert api.client.post(url, headers=api.as_("operator"), json=parking | {"label": "bin"}).status_code == 422
    car = api.client.post(url, headers=api.as_("operator"), json=parking | {"label": "car"})
    assert car.status_code == 201 and car.json()["label"] == "car"
    assert api.client.post(url, headers=api.as_("operator"), json=miss | {"camera_id": "cam-9"}).status_code == 422
    period = {"start": "2026-03-02T00:00:00+08:00", "end": "2026-03-09T00:00:00+08:00"}
    listed = api.client.get(url, headers=api.as_("viewer"), params=period).json()
    assert [m["id"] for m in listed] == [car.json()["id"], made.json()["id"]]
    assert api.client.get(url, headers=api.as_("handler_east"), params=period).json() == []  # cam-2 is west
