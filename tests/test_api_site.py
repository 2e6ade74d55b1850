"""Site configuration through the API: CRUD round trips into the store and back to the site YAML, whole-config
validation (422 naming the field), nothing changed by a refused edit, running cameras told, secrets hidden from
non-admins, edits audited, running streams updated; on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service.core.site import Camera, SiteConfig, load_site
from service.store.models import Camera as CameraRow
from service.store.models import Zone as ZoneRow
from tests.api_fixtures import Api

pytest_plugins = ["tests.db_fixtures", "tests.api_fixtures"]
SITE_API = "/api/v1/site"


def _put(api: Api, path: str, body: Any, who: str = "admin") -> Any:
    return api.client.put(f"{SITE_API}/{path}", headers=api.as_(who), json=body)


def _streams(api: Api) -> dict[str, float]:
    """The cameras the running stream workers know, with their sampling rate."""
    assert api.ctx.cameras is not None
    return {s.id: s.sample_fps for s in api.ctx.cameras.status()}


def test_camera_round_trip_store_yaml_and_streams(api: Api) -> None:
    camera = {
        "id": "cam-new",
        "name": "North gate",
        "source": "rtsp://watch:hunter22@127.0.0.1:9/stream1",
        "grid": "g-west",
        "sample_fps": 2.0,
        "zones": [{"id": "lane", "kind": "no_parking", "polygon": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]]}],
    }
    created = _put(api, "cameras/cam-new", camera)
    assert created.status_code == 200, created.text
    assert load_site(api.site_file).camera("cam-new") == Camera.model_validate(camera)
    assert _streams(api)["cam-new"] == 2.0  # the stream workers picked it up without a restart
    assert api.ctx.site.camera("cam-new").grid == "g-west" and api.ctx.manager.sites is api.ctx.sites
    with api.ctx.store.session() as session:
        row = session.get(CameraRow, "cam-new")
        assert row is not None and (row.grid_id, row.sample_fps, row.active) == ("g-west", 2.0, True)
        assert session.scalars(select(ZoneRow.key).where(ZoneRow.camera_id == "cam-new")).all() == ["lane"]

    as_viewer = api.client.get(f"{SITE_API}/cameras/cam-new", headers=api.as_("viewer")).json()
    assert as_viewer["source"] == "rtsp://***@127.0.0.1:9/stream1"
    as_admin = api.client.get(f"{SITE_API}/cameras/cam-new", headers=api.as_("admin")).json()
    assert as_admin["source"] == camera["source"]

    zones = [{"id": "door", "kind": "fire_lane", "polygon": [[0, 0], [0.5, 0], [0.5, 0.5]]}]
    assert _put(api, "cameras/cam-new/zones", zones).status_code == 200
    assert [z.id for z in load_site(api.site_file).camera("cam-new").zones] == ["door"]

    assert api.client.delete(f"{SITE_API}/cameras/cam-new", headers=api.as_("admin")).status_code == 204
    assert "cam-new" not in {c.id for c in load_site(api.site_file).cameras}
    assert "cam-new" not in _streams(api)
    with api.ctx.store.session() as session:
        gone = session.get(CameraRow, "cam-new")
        assert gone is not None and gone.active is False  # kept for the cases that name it
    audit = api.client.get("/api/v1/audit", headers=api.as_("admin"), params={"target": "cameras:cam-new"})
    entries = audit.json()["items"]
    assert [e["action"] for e in reversed(entries)] == [
        "site.put_camera", "site.put_zones_camera", "site.delete_camera"
    ]  # fmt: skip
    assert "hunter22" not in str(entries)  # the camera password stays out of the audit log


def test_invalid_edits_are_422_naming_the_field_and_change_nothing(api: Api) -> None:
    before = api.site_file.read_text()
    bad_fps = _put(
        api, "cameras/cam-x", {"id": "cam-x", "name": "X", "source": "rtsp://h/s", "grid": "g-west", "sample_fps": 99}
    )
    assert bad_fps.status_code == 422 and bad_fps.json()["errors"][0]["field"] == "sample_fps"
    unknown = _put(api, "cameras/cam-x", {"id": "cam-x", "name": "X", "source": "rtsp://h/s", "grid": "nowhere"})
    assert unknown.status_code == 422 and "cameras[cam-x].grid: unknown grid 'nowhere'" in unknown.json()["detail"]
    extra = _put(api, "units/u-x", {"id": "u-x", "name": "X", "colour": "red"})
    assert extra.status_code == 422 and extra.json()["errors"][0]["field"] == "colour"
    mismatch = _put(api, "units/u-x", {"id": "u-y", "name": "X"})
    assert mismatch.status_code == 422 and "id" in mismatch.json()["detail"]
    in_use = api.client.delete(f"{SITE_API}/grids/g-east", headers=api.as_("admin"))
    assert in_use.status_code == 422 and "cameras[cam-1].grid: unknown grid 'g-east'" in in_use.json()["detail"]
    no_area = _put(
        api, "places/p-market/zones", [{"id": "z", "kind": "no_parking", "polygon": [[0, 0], [1, 1], [0.5, 0.5]]}]
    )
    assert no_area.status_code == 422 and no_area.json()["errors"][0]["field"].startswith("0.polygon")
    bad_id = api.client.get(f"{SITE_API}/cameras/NOT_A_SLUG", headers=api.as_("admin"))
    assert bad_id.status_code == 422
    assert api.client.get(f"{SITE_API}/cameras/nope", headers=api.as_("admin")).status_code == 404
    assert api.client.delete(f"{SITE_API}/units/nope", headers=api.as_("admin")).status_code == 404
    assert api.site_file.read_text() == before
    assert {c.id for c in api.ctx.site.cameras} == {"cam-1", "cam-2"}


def test_whole_site_round_trip(api: Api) -> None:
    site = api.client.get(SITE_API, headers=api.as_("admin")).json()
    site["units"].append({"id": "u-north", "name": "North office", "contact": "0571-1234"})
    site["grids"].append({"id": "g-north", "name": "North community", "unit": "u-north", "parent": "s1"})
    replaced = api.client.put(SITE_API, headers=api.as_("admin"), json=site)
    assert replaced.status_code == 200, replaced.text
    assert load_site(api.site_file) == SiteConfig.model_validate(site) == api.ctx.site
    grids = api.client.get(f"{SITE_API}/grids", headers=api.as_("handler_east")).json()
    assert "g-north" in {g["id"] for g in grids}
    # Users can now be scoped to the new grid: the store has it.
    body = {"name": "north", "role": "unit_handler", "password": "north-pass-1", "grids": ["g-north"]}
    assert api.client.post("/api/v1/users", headers=api.as_("admin"), json=body).status_code == 201
