"""The camera fleet on a local Ray cluster with the real PostgreSQL store: two worker actors run two cameras (the
real car-park clip, looping); killing the actor of one mid-stream loses no case, and the camera resumes on the
other actor, where its sightings join the cases it had opened instead of opening twins."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations
from pathlib import Path

import pytest
from sqlalchemy import select

from service.cluster.fleet import CameraFleet, WorkerOptions, camera_runner, only_cameras
from service.context import Context, open_context
from service.core.config import Settings
from service.core.site import Location, Place, dump_site
from service.site_editor import Collection, SiteEditor
from service.store.models import Case
from service.workers.cameras import CameraManager
from tests.db_fixtures import throwaway_pg_database
from tests.stream_fixtures import wait_for
from tests.test_camera_manager import camera, site
from vision.boxes import box_iou
from vision.stream.reader import ReaderSettings, StreamState

pytest_plugins = ["tests.cluster_fixtures", "tests.stream_fixtures"]

CAMERAS = ["cam-a", "cam-b"]


@pytest.fixture
def ctx(tmp_path: Path, car_cut: Path, car_clip: Path) -> Iterator[Context]:
    """The service's context on a fresh PostgreSQL database; the site's cameras show the car park, cam-a the cut in
    which a car parks (two cameras must not send byte-identical frames: a sighting is identified by its content)."""
    site_file = tmp_path / "site.yaml"
    dump_site(site(camera("cam-a", car_cut, fps=4.0), camera("cam-b", car_clip, fps=2.0)), site_file)
    with throwaway_pg_database() as url:
        settings = Settings(data_dir=tmp_path / "data", database_url=url, site=site_file, threads=1)
        with open_context(settings) as opened:
            yield opened


def _cases(ctx: Context, camera_id: str) -> list[Case]:
    with ctx.store.session() as s:
        return list(s.scalars(select(Case).where(Case.camera_id == camera_id).order_by(Case.id)))


def test_only_cameras_keeps_disabled_cameras_off(ctx: Context) -> None:
    off = ctx.site.model_copy(update={"cameras": [ctx.site.cameras[0].model_copy(update={"enabled": False})]})
    assert [c.enabled for c in only_cameras(off, {"cam-a"}).cameras] == [False]
    assert [c.enabled for c in only_cameras(ctx.site, {"cam-b"}).cameras] == [False, True]


def test_the_service_runs_its_cameras_where_its_settings_say(ray_cluster: None, ctx: Context) -> None:
    assert isinstance(camera_runner(ctx), CameraManager)  # GRIDWATCH_CLUSTER=local, the default
    ctx.settings = ctx.settings.model_copy(update={"cluster": "auto", "cluster_camera_workers": 3})
    fleet = camera_runner(ctx)
    assert isinstance(fleet, CameraFleet) and fleet.size == 3 and fleet.site == ctx.site
    assert fleet.settings.database_url == ctx.store_url  # every actor opens the service's store
    assert not fleet.running  # started by the service's lifespan


def test_a_place_added_at_run_time_reaches_the_camera_worker_on_ray(ray_cluster: None, ctx: Context) -> None:
    """The site editor changes the service's site registry; the fleet, subscribed to it, hands the change to its Ray
    worker, whose camera then places its sightings at the new place (its radius holds the camera)."""
    editor = SiteEditor(ctx, None)
    for cam in ctx.site.cameras:  # start with no camera running: the first case comes after the change
        editor.put(Collection.CAMERAS, cam.model_copy(update={"enabled": False}), "test")
    options = WorkerOptions(cpus=0.5, reader=ReaderSettings(loop_files=True))
    fleet = CameraFleet.for_context(ctx, workers=1, options=options, check_interval_s=0.5, ping_timeout_s=10.0)
    fleet.start()
    ctx.sites.subscribe(fleet.apply)
    try:
        lot = Place(id="p-lot", name="Car park", grid="g", lat=31.2300, lon=121.4700, radius_m=50)
        editor.put(Collection.PLACES, lot, "admin")  # the worker runs, with the start-up site: no place there
        located = ctx.site.camera("cam-a").model_copy(
            update={"enabled": True, "location": Location(lat=31.2301, lon=121.4700)}  # about 11 m from the place
        )
        editor.put(Collection.CAMERAS, located, "admin")
        wait_for(lambda: bool(_cases(ctx, "cam-a")), 120, "a parking case from cam-a", interval=0.5)
        assert {c.place_id for c in _cases(ctx, "cam-a")} == {"p-lot"}
        assert fleet.site == ctx.site  # the supervisor follows the registry
    finally:
        ctx.sites.unsubscribe(fleet.apply)
        fleet.stop()


def test_a_killed_camera_actor_loses_no_case_and_its_camera_resumes_elsewhere(ray_cluster: None, ctx: Context) -> None:
    import ray

    options = WorkerOptions(cpus=0.5, reader=ReaderSettings(loop_files=True))
    fleet = CameraFleet.for_context(ctx, workers=2, options=options, check_interval_s=0.5, ping_timeout_s=10.0)
    fleet.start()
    try:
        placed = fleet.assignment()
        assert sorted(placed) == CAMERAS and len(set(placed.values())) == 2  # one camera per worker
        wait_for(lambda: bool(_cases(ctx, "cam-a")), 90, "a parking case from cam-a", interval=0.5)

        victim = placed["cam-a"]
        ray.kill(fleet.workers()[victim])  # mid-stream: cam-a's reader and detection loop die with the actor
        before = {c.id for c in _cases(ctx, "cam-a")}

        wait_for(lambda: fleet.assignment().get("cam-a") not in (None, victim), 30, "cam-a on a live worker")
        survivor = fleet.assignment()["cam-a"]
        assert survivor == placed["cam-b"] and fleet.assignment()["cam-b"] == survivor  # the live worker took it

        def resumed() -> bool:  # the survivor's own counts: it read, detected and reported cam-a's parked car
            status = fleet.camera_status("cam-a")
            return status.state is StreamState.ONLINE and status.violations > 0

        wait_for(resumed, 60, "cam-a's parked car reported by its new worker", interval=0.25)
        after = _cases(ctx, "cam-a")
        assert before <= {c.id for c in after}  # every case opened before the kill is still there
        # The car seen again from the new worker was recorded against its case (a duplicate of a looped frame, or
        # an update): no open twin overlaps it.
        open_boxes = [c.bbox for c in after if c.state == "pending_review"]
        assert open_boxes and all(box_iou([a], [b])[0, 0] < 0.3 for a, b in combinations(open_boxes, 2))
        # A replacement worker came up to restore the pool (it takes new and orphaned cameras from now on).
        wait_for(lambda: len(fleet.workers()) == 2 and victim not in fleet.workers(), 30, "a replacement worker")
    finally:
        fleet.stop()
