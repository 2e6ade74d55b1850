"""The camera worker end to end: the real car-park clip through the reader, motion gate, shared detector (the
shipped model), parking rule and case manager into a SQLite store; cameras added, changed and removed at run time."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.api.metrics import Metrics
from service.cases.manager import CaseManager
from service.cases.placement import Placement
from service.cases.sightings import IngestResult
from service.context import Context, open_context
from service.core.config import Settings
from service.core.site import Camera, Grid, SiteConfig, Unit, Zone, dump_site
from service.store.evidence import EvidenceInput, sha256_hex
from service.store.models import Case, EvidenceLink, Observation
from service.store.sites import sync_site
from service.workers.cameras import CameraManager, render_snapshot
from tests.stream_fixtures import wait_for
from vision.detections import Detections
from vision.detector import Detector
from vision.rules.config import ParkingRule, RulesConfig
from vision.rules.engine import RuleOutput
from vision.rules.events import ViolationEvent
from vision.stream.reader import ReaderSettings, StreamState

pytest_plugins = ["tests.stream_fixtures"]

WHOLE_FRAME = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
# The clip's cars drive through; a short dwell and a loose "same place" make one that lingers count as parked.
RULES = RulesConfig(parking=ParkingRule(dwell_s=1.0, iou=0.1, gap_s=5.0))


def camera(camera_id: str, source: Path, fps: float = 6.0, zone_kind: str = "no_parking") -> Camera:
    zone = Zone.model_validate({"id": "whole", "kind": zone_kind, "polygon": WHOLE_FRAME})
    return Camera(id=camera_id, name=f"Camera {camera_id}", source=str(source), grid="g", sample_fps=fps, zones=[zone])


def site(*cameras: Camera) -> SiteConfig:
    return SiteConfig(
        units=[Unit(id="u", name="Unit")],
        grids=[Grid(id="g", name="Grid", unit="u")],
        cameras=list(cameras),
        rules=RULES,
    )


@pytest.fixture
def ctx(tmp_path: Path, detector: Detector, car_cut: Path) -> Iterator[Context]:
    """A context on a fresh SQLite store whose site has the car-park camera and a spare one."""
    site_file = tmp_path / "site.yaml"
    dump_site(site(camera("carpark", car_cut), camera("spare", car_cut, fps=2.0)), site_file)
    with open_context(Settings(data_dir=tmp_path / "data", site=site_file), detector=detector) as opened:
        yield opened


@pytest.fixture
def managers() -> Iterator[list[CameraManager]]:
    made: list[CameraManager] = []
    yield made
    for manager in made:
        manager.stop()


def test_car_park_clip_opens_a_parking_case(
    ctx: Context, detector: Detector, car_cut: Path, managers: list[CameraManager]
) -> None:
    metrics = Metrics()
    only_carpark = site(camera("carpark", car_cut))
    manager = CameraManager(
        only_carpark, detector, ctx.manager, metrics=metrics, reader=ReaderSettings(loop_files=True)
    )
    managers.append(manager)
    manager.start()

    def cases() -> list[Case]:
        with ctx.store.session() as s:
            return list(s.scalars(select(Case)))

    wait_for(lambda: len(cases()) > 0, 60, "a parking case from the car-park camera", interval=0.25)
    manager.stop()
    assert not manager.running

    case = cases()[0]
    assert case.violation == "motor_parking" and case.camera_id == "carpark"
    with ctx.store.session() as s:
        obs = s.scalars(select(Observation).where(Observation.case_id == case.id)).first()
        kinds = {link.kind for link in s.scalars(select(EvidenceLink).where(EvidenceLink.case_id == case.id))}
    assert obs is not None and obs.label in ("car", "bus", "truck") and obs.rule == "parking.no_parking"
    assert kinds == {"original", "annotated", "crop"}
    data = ctx.evidence.read(obs.source_sha256, "jpg")
    assert sha256_hex(data) == obs.source_sha256  # the source hash is the kept JPEG frame's
    assert jpeg_shape(data) == (432, 768, 3)

    (status,) = manager.status()
    assert status.id == "carpark" and status.frames_detected > 0 and status.violations >= 1
    assert status.frames_read > status.frames_detected and status.last_frame_at is not None
    snapshot = manager.snapshot("carpark")
    assert snapshot is not None and jpeg_shape(snapshot) == (432, 768, 3)

    sample = metrics.registry.get_sample_value
    assert (sample("gridwatch_frames_read_total", {"camera": "carpark"}) or 0) > 0
    assert (sample("gridwatch_cases_opened_total", {"violation": "motor_parking"}) or 0) >= 1
    assert (sample("gridwatch_inference_ms_count") or 0) >= status.frames_detected / manager.batch_size


def test_cameras_are_added_changed_and_removed_at_run_time(
    ctx: Context, detector: Detector, car_cut: Path, tmp_path: Path, managers: list[CameraManager]
) -> None:
    loop = ReaderSettings(loop_files=True)
    a, b = camera("carpark", car_cut, fps=2.0), camera("spare", car_cut, fps=2.0)
    manager = CameraManager(site(a), detector, ctx.manager, reader=loop)
    managers.append(manager)
    manager.start()

    def state(camera_id: str) -> StreamState:
        return manager.camera_status(camera_id).state

    wait_for(lambda: state("carpark") is StreamState.ONLINE, 20, "camera carpark online")
    reader_a = manager._cameras["carpark"].reader

    manager.apply(site(a, b))  # add
    wait_for(lambda: state("spare") is StreamState.ONLINE, 20, "the added camera online")
    assert manager._cameras["carpark"].reader is reader_a  # untouched
    wait_for(lambda: manager.camera_status("spare").frames_detected > 0, 20, "frames of the added camera detected")

    manager.apply(site(a, camera("spare", car_cut, fps=2.0, zone_kind="fire_lane")))  # zones only: same reader
    reader_b = manager._cameras["spare"].reader
    assert manager._engine.zones["spare"][0].kind == "fire_lane"
    manager.apply(site(a, camera("spare", car_cut, fps=3.0)))  # new rate: the reader restarts
    assert manager._cameras["spare"].reader is not reader_b and not reader_b.running
    wait_for(lambda: state("spare") is StreamState.ONLINE, 20, "the restarted camera online")

    disabled = a.model_copy(update={"enabled": False})
    manager.apply(site(disabled, camera("spare", car_cut, fps=3.0)))  # disable: stopped, still listed
    assert not reader_a.running
    status = {s.id: s for s in manager.status()}
    assert not status["carpark"].enabled and status["carpark"].state is StreamState.OFFLINE
    assert manager.snapshot("carpark") is None

    manager.apply(site())  # remove every camera
    assert manager.status() == [] and "spare" not in manager._cameras
    with pytest.raises(KeyError):
        manager.snapshot("spare")
    with pytest.raises(KeyError):
        manager.camera_status("spare")

    store_site = site(camera("late", car_cut, fps=2.0))
    with ctx.store.transaction() as s:
        sync_site(s, store_site)  # the store must know a camera before its sightings can be ingested
    manager.apply(store_site)
    wait_for(lambda: state("late") is StreamState.ONLINE, 20, "a camera added to an emptied manager")
    manager.stop()
    assert not manager.running and not manager._cameras["late"].reader.running


def jpeg_shape(data: bytes) -> tuple[int, ...]:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not a JPEG"
    return tuple(image.shape)


def test_snapshot_is_a_bounded_blurred_jpeg() -> None:
    frame = np.zeros((1080, 1920, 3), np.uint8)
    frame[(np.arange(1080) // 24) % 2 == 1] = 255  # stripes: what pixelation wipes out

    def stripes(data: bytes) -> float:
        """Mean absolute difference between neighbouring rows of the decoded JPEG, grey levels."""
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
        assert image is not None and image.shape == (720, 1280)
        return float(np.abs(np.diff(image.astype(np.float32), axis=0)).mean())

    assert stripes(render_snapshot(frame, None)) < 2.0  # nothing known about the frame: all of it pixelated
    assert stripes(render_snapshot(frame, Detections.empty())) > 8.0  # nothing private in it: kept


def test_bad_batching_is_refused(ctx: Context, detector: Detector) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        CameraManager(site(), detector, ctx.manager, batch_size=0)


class StuckStore(CaseManager):
    """A case manager whose store hangs on the first sighting until released: a deliberately slow store."""

    def __init__(self, cases: CaseManager) -> None:
        super().__init__(cases.store, cases.sites, cases.evidence, clock=cases.clock)
        self.entered, self.release = threading.Event(), threading.Event()
        self.results: list[IngestResult] = []

    def ingest_source(
        self,
        where: Placement,
        sightings: Sequence[tuple[ViolationEvent, Sequence[EvidenceInput]]],
        model_version: str,
        source_sha256: str,
        then: Callable[[Session, list[IngestResult]], None] | None = None,
    ) -> list[IngestResult]:
        self.entered.set()
        assert self.release.wait(120), "the test never released the store"
        results = super().ingest_source(where, sightings, model_version, source_sha256, then)
        self.results.extend(results)
        return results


def test_a_stuck_store_holds_up_no_camera_and_loses_no_event(
    ctx: Context, detector: Detector, car_cut: Path, managers: list[CameraManager]
) -> None:
    cases = StuckStore(ctx.manager)
    manager = CameraManager(
        site(camera("carpark", car_cut), camera("spare", car_cut)),
        detector,
        cases,
        reader=ReaderSettings(loop_files=True),
        motion=None,
    )
    emitted: list[int] = []
    step = manager._engine.step

    def counted(camera_id: str, t: datetime, det: Detections, frame_wh: tuple[int, int]) -> RuleOutput:
        out = step(camera_id, t, det, frame_wh)
        emitted.append(len(out.violations))
        return out

    manager._engine.step = counted  # type: ignore[method-assign]
    managers.append(manager)
    manager.start()
    assert cases.entered.wait(60), "no sighting reached the store"

    # The case writer is stuck inside the store; detection goes on for every camera all the same.
    detected = {s.id: s.frames_detected for s in manager.status()}
    for camera_id in detected:
        wait_for(
            lambda cid=camera_id: manager.camera_status(cid).frames_detected >= detected[cid] + 10,  # type: ignore[misc]
            60,
            f"camera {camera_id} detected while the store is stuck",
        )
    assert cases.results == []

    cases.release.set()
    manager.stop()  # writes what is still queued before it returns
    assert len(cases.results) == sum(emitted) > 0  # every event recorded (the two cameras' identical frames: once)
    with ctx.store.session() as s:
        assert {r.observation_id for r in cases.results} <= set(s.scalars(select(Observation.id)))
