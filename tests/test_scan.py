"""``gridwatch scan`` end to end: the real sample photos, the shipped model, the example site and a store on SQLite
and PostgreSQL; cases opened once, evidence content-addressed, per-file errors, locations from flags and EXIF."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from cli.main import main
from domain.errors import ScanError
from domain.taxonomy import EVENT_CODES, Violation
from service.cases.sightings import Outcome
from service.context import Context, open_context
from service.core.config import Settings
from service.core.site import Zone, dump_site, load_site
from service.scan import PhotoScan, scan
from service.store.db import Store
from service.store.models import Case, EvidenceLink, Observation
from tests.conftest import ROOT, SAMPLES
from tests.db_fixtures import SHANGHAI
from vision.detector import Detector
from vision.exif import DATETIME_ORIGINAL, EXIF_IFD, GPS_IFD

pytest_plugins = ["tests.db_fixtures"]

EXAMPLE_SITE = ROOT / "docs" / "site.example.yaml"
PLACE = "market-lane-corner"  # 39.9612 N, 116.4160 E, radius 40 m, grid hepingli-south (unit sanitation)
PHOTOS = sorted(SAMPLES.glob("*.jpg"))
PARKING = {Violation.MOTOR_PARKING, Violation.NON_MOTOR_PARKING}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def site_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example site, its patrol place given a no-parking zone over the whole photo."""
    cfg = load_site(EXAMPLE_SITE)
    whole = Zone(id="whole-photo", kind="no_parking", polygon=[(0, 0), (1, 0), (1, 1), (0, 1)])
    places = [p.model_copy(update={"zones": [whole]}) if p.id == PLACE else p for p in cfg.places]
    path = tmp_path_factory.mktemp("site") / "site.yaml"
    dump_site(cfg.model_copy(update={"places": places}), path)
    return path


def store_url(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=False)


@pytest.fixture
def ctx(store: Store, tmp_path: Path, site_file: Path, detector: Detector) -> Iterator[Context]:
    """The scan's context on the (empty) test store of each backend, evidence in a temp data dir."""
    settings = Settings(data_dir=tmp_path / "data", database_url=store_url(store), site=site_file)
    with open_context(settings, detector=detector) as opened:
        yield opened


def count(ctx: Context, model: type[Case] | type[Observation] | type[EvidenceLink]) -> int:
    with ctx.store.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def all_cases(ctx: Context) -> list[Case]:
    with ctx.store.session() as s:
        return list(s.scalars(select(Case).order_by(Case.id)))


def photo_with_exif(src: Path, dst: Path, taken: str, lat: float, lon: float) -> Path:
    """A copy of ``src`` with a naive DateTimeOriginal and a GPS position written into its EXIF."""

    def dms(value: float) -> tuple[float, float, float]:
        minutes = (value % 1) * 60
        return float(int(value)), float(int(minutes)), round((minutes % 1) * 60, 4)

    exif = Image.Exif()
    exif[EXIF_IFD] = {DATETIME_ORIGINAL: taken}
    exif[GPS_IFD] = {1: "N", 2: dms(lat), 3: "E", 4: dms(lon)}
    with Image.open(src) as im:
        im.save(dst, "JPEG", exif=exif, quality=95)
    return dst


def test_default_site_vehicles_without_zones_are_no_violation(store: Store, tmp_path: Path, detector: Detector) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=store_url(store))
    with open_context(settings, detector=detector) as ctx:
        report = scan([SAMPLES], ctx)
        assert (report.photos, report.failed, report.violations) == (len(PHOTOS), 0, 0)
        assert count(ctx, Case) == 0
        assert not (tmp_path / "data" / "evidence").exists()


def test_place_zones_open_parking_cases_with_evidence(ctx: Context) -> None:
    report = scan([SAMPLES], ctx, place=PLACE)
    assert (report.photos, report.failed) == (len(PHOTOS), 0)
    assert report.outcomes[Outcome.OPENED] >= 1 and report.violations == sum(report.outcomes.values())
    assert set(report.by_violation) <= PARKING and report.by_violation[Violation.MOTOR_PARKING] >= 1

    cases = all_cases(ctx)
    assert len(cases) == report.outcomes[Outcome.OPENED]
    version = f"yolo26n-coco.onnx@{ctx.detector.info.sha256[:12]}"
    for case in cases:
        assert (case.place_id, case.grid_id, case.unit_id) == (PLACE, "hepingli-south", "sanitation")
        assert case.event_code == EVENT_CODES[Violation(case.violation)].code
        assert case.model_version == version and case.state == "pending_review"
        assert (case.lat, case.lon) == (39.9612, 116.4160)  # the place's position: the photos carry none

    originals = {sha256(p.read_bytes()): p for p in PHOTOS}
    with ctx.store.session() as s:
        observations = list(s.scalars(select(Observation)))
        links = list(s.scalars(select(EvidenceLink)))
    assert len(observations) == report.violations
    assert {o.source_sha256 for o in observations} <= set(originals)
    assert all(o.zone_key == "whole-photo" for o in observations)
    for obs in observations:
        kinds = sorted(link.kind for link in links if link.observation_id == obs.id)
        assert kinds in (["annotated", "crop"], ["annotated", "crop", "original"])
        # a photo's original is linked to a case once, however many of the case's sightings it shows
        assert (obs.case_id, obs.source_sha256, "original") in {(k.case_id, k.sha256, k.kind) for k in links}
    for link in links:  # content-addressed: the file is named by the hash of what it holds
        (path,) = Path(ctx.evidence.location).glob(f"{link.sha256[:2]}/{link.sha256[2:4]}/{link.sha256}.*")
        assert sha256(path.read_bytes()) == link.sha256
        if link.kind == "original":
            assert path.read_bytes() == originals[link.sha256].read_bytes()


def test_rescanning_the_same_photos_opens_no_case(ctx: Context, tmp_path: Path) -> None:
    first = scan([SAMPLES], ctx, place=PLACE)
    before = (count(ctx, Case), count(ctx, Observation), count(ctx, EvidenceLink))
    files = sorted(Path(ctx.evidence.location).rglob("*.*"))
    assert first.violations > 0

    again = scan([SAMPLES], ctx, place=PLACE)
    assert again.outcomes == {Outcome.DUPLICATE: first.violations}

    archive = tmp_path / "patrol.zip"  # the same photos in an archive are the same content
    with zipfile.ZipFile(archive, "w") as zf:
        for photo in PHOTOS:
            zf.write(photo, f"day1/{photo.name}")
    zipped = scan([archive], ctx, place=PLACE)
    assert (zipped.photos, zipped.failed) == (len(PHOTOS), 0)
    assert zipped.outcomes == {Outcome.DUPLICATE: first.violations}
    assert (count(ctx, Case), count(ctx, Observation), count(ctx, EvidenceLink)) == before
    assert sorted(Path(ctx.evidence.location).rglob("*.*")) == files


def test_a_corrupt_file_fails_alone(ctx: Context, tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    good = [shutil.copy(p, batch / p.name) for p in PHOTOS[:3]]
    data = PHOTOS[3].read_bytes()
    (batch / "a_truncated.jpg").write_bytes(data[: len(data) // 2])
    (batch / "b_not_a_photo.jpg").write_bytes(b"this is a text file")
    seen: list[PhotoScan] = []
    report = scan([batch, tmp_path / "missing.jpg"], ctx, place=PLACE, progress=lambda p, done, total: seen.append(p))
    assert (report.photos, report.failed) == (6, 3)
    assert {Path(path).name for path, _ in report.errors} == {"a_truncated.jpg", "b_not_a_photo.jpg", "missing.jpg"}
    assert "truncated" in dict(report.errors)[str(batch / "a_truncated.jpg")]
    ok = [p for p in seen if p.error is None]
    assert sorted(p.path for p in ok) == sorted(str(g) for g in good)
    assert report.violations > 0 and count(ctx, Observation) == report.violations


def test_camera_stills_use_the_camera_zones(ctx: Context) -> None:
    seen: list[PhotoScan] = []
    report = scan([SAMPLES], ctx, camera="north-gate", progress=lambda p, done, total: seen.append(p))
    assert report.violations > 0
    sightings = [s for p in seen for s in p.sightings]
    assert {s.event.rule for s in sightings} <= {"parking.fire_lane", "parking.sidewalk"}
    assert {s.event.zone_id for s in sightings} <= {"fire-lane", "gate-sidewalk"}
    assert all(s.event.bbox[3] >= 0.48 for s in sightings)  # both zones lie in the lower half of the view
    for case in all_cases(ctx):
        assert (case.camera_id, case.grid_id, case.unit_id) == ("north-gate", "hepingli-north", "hepingli-office")
    # a camera tells its cars apart by their boxes: more than one case per photo is possible
    assert count(ctx, Case) > len({p.path for p in seen if p.sightings})


def test_exif_gps_and_time_place_the_photo(ctx: Context, tmp_path: Path) -> None:
    near = photo_with_exif(PHOTOS[0], tmp_path / "near.jpg", "2025:10:09 07:45:00", 39.96125, 116.41605)
    far = photo_with_exif(PHOTOS[0], tmp_path / "far.jpg", "2025:10:09 07:46:00", 39.9700, 116.4300)
    seen: dict[str, PhotoScan] = {}
    scan([near, far, PHOTOS[1]], ctx, progress=lambda p, done, total: seen.update({Path(p.path).name: p}))

    at_place = seen["near.jpg"]
    assert at_place.time_source == "exif" and at_place.taken_at == datetime(2025, 10, 9, 7, 45, tzinfo=SHANGHAI)
    assert at_place.place_id == PLACE and at_place.lat == pytest.approx(39.96125, abs=1e-6)
    assert at_place.sightings
    case = next(c for c in all_cases(ctx) if c.id == at_place.sightings[0].case_id)
    assert case.place_id == PLACE and case.first_seen == datetime(2025, 10, 9, 7, 45, tzinfo=SHANGHAI)

    assert seen["far.jpg"].place_id is None and not seen["far.jpg"].sightings  # no place there: no zones
    no_exif = seen[PHOTOS[1].name]
    assert no_exif.time_source == "mtime" and no_exif.lat is None and not no_exif.sightings


def test_lat_lon_given_override_the_photo_gps(ctx: Context, tmp_path: Path) -> None:
    far = photo_with_exif(PHOTOS[0], tmp_path / "far.jpg", "2025:10:09 07:46:00", 39.9700, 116.4300)
    seen: list[PhotoScan] = []
    report = scan([far], ctx, lat=39.9612, lon=116.4160, progress=lambda p, done, total: seen.append(p))
    assert report.violations > 0 and seen[0].place_id == PLACE and seen[0].lat == 39.9612


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ({"camera": "back-door"}, "unknown camera 'back-door' (the site has: north-gate, south-bins)"),
        ({"place": "harbour"}, "unknown place 'harbour' (the site has: market-lane-corner)"),
        ({"lat": 39.96}, "--lat and --lon go together"),
        ({"camera": "north-gate", "place": PLACE}, "at most one"),
        ({"lat": 99.0, "lon": 116.4}, "out of range"),
    ],
)
def test_bad_locations_fail_before_any_photo(ctx: Context, where: dict[str, object], message: str) -> None:
    seen: list[PhotoScan] = []
    with pytest.raises(ScanError, match=message.replace("(", r"\(").replace(")", r"\)")):
        scan([SAMPLES], ctx, progress=lambda p, done, total: seen.append(p), **where)  # type: ignore[arg-type]
    assert not seen and count(ctx, Case) == 0


# ---- the command line --------------------------------------------------------------------------------------------


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, site_file: Path) -> Path:
    """GRIDWATCH_* for the CLI: a temp data dir and the test site; returns the data dir."""
    for name in ("GRIDWATCH_DATABASE_URL", "GRIDWATCH_MODEL", "GRIDWATCH_PROVIDERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GRIDWATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GRIDWATCH_SITE", str(site_file))
    monkeypatch.setenv("GRIDWATCH_PROVIDERS", "cpu")
    return tmp_path / "data"


def test_cli_database_url_overrides_the_default_store(
    env: Path, store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRIDWATCH_DATABASE_URL", store_url(store))
    assert main(["scan", str(PHOTOS[0]), str(PHOTOS[1]), "--place", PLACE]) == 0
    out = capsys.readouterr().out
    assert f"store: {store.engine.url.render_as_string(hide_password=True)}" in out
    assert "2 photos, 0 failed" in out
    with store.session() as s:
        assert (s.scalar(select(func.count()).select_from(Case)) or 0) > 0
    assert not (env / "gridwatch.db").exists()  # the default store was not touched
    assert any((env / "evidence").rglob("*.jpg"))  # evidence stays under the data dir


def test_cli_default_store_is_sqlite_in_the_data_dir(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", str(PHOTOS[0]), "--place", PLACE, "--format", "jsonl"]) == 0
    captured = capsys.readouterr()
    (line,) = captured.out.splitlines()  # stdout: one JSON object per photo, nothing else
    record = json.loads(line)
    assert record["path"] == str(PHOTOS[0]) and record["place"] == PLACE
    assert {v["outcome"] for v in record["violations"]} <= {"opened", "updated"} and record["violations"]
    assert f"store: sqlite:///{(env / 'gridwatch.db').resolve()}" in captured.err
    assert (env / "gridwatch.db").is_file()


def test_cli_exit_status(env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", str(SAMPLES), "--camera", "back-door"]) == 2
    assert "unknown camera 'back-door'" in capsys.readouterr().err
    assert main(["scan", str(SAMPLES), "--lat", "39.96"]) == 2
    assert "--lat and --lon go together" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["scan", str(SAMPLES), "--camera", "north-gate", "--place", PLACE])
    assert usage.value.code == 2
    missing = tmp_path / "site-missing.yaml"
    assert main(["scan", str(SAMPLES), "--site", str(missing)]) == 2
    assert "cannot read site file" in capsys.readouterr().err
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a photo")
    assert main(["scan", str(broken)]) == 1  # every photo failed
