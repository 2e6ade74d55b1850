"""Exports, phone report and evidence through the API on both backends: CSV/XLSX of cases (grid-scoped,
formula-safe) and KPIs, the verdict dataset as YOLO (confirmed boxes labelled, rejected ones not, images
blurred), phone numbers aggregated across cases, and evidence served only as the blurred rendition."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta

import numpy as np
from openpyxl import load_workbook  # type: ignore[import-untyped]

from domain.taxonomy import LABEL_NAMES, Violation
from service.cases.phones import PosterReading, attach_readings
from service.integrations.exports import Table, to_csv, to_xlsx
from service.store.evidence import EvidenceInput, sha256_hex
from service.store.models import EvidenceKind, VerdictKind
from tests.api_fixtures import Api
from tests.conftest import SAMPLES
from tests.db_fixtures import T0, sighting
from vision.imageio import decode_image
from vision.ocr import Phone

pytest_plugins = ["tests.db_fixtures", "tests.api_fixtures"]

PHOTO = SAMPLES / "cyclists_street.jpg"  # people and vehicles: their heads and plates must not leave unblurred


def photo_case(api: Api, camera: str, bbox: tuple[float, float, float, float], tag: str) -> tuple[int, str]:
    """A case whose sighting evidence is a real photo (a distinct file per tag); returns (case id, sha256)."""
    data = PHOTO.read_bytes() + tag.encode()
    result = api.ctx.manager.ingest(
        *sighting(Violation.MOTOR_PARKING, camera_id=camera, bbox=bbox, at=T0),
        [EvidenceInput(EvidenceKind.ORIGINAL, data, "jpg")],
        "m1",
        sha256_hex(data),
    )
    return result.case.id, sha256_hex(data)


def test_table_writers_keep_unicode_and_neutralise_formulas() -> None:
    table = Table("t", ["a", "b"], [['=HYPERLINK("x")', "网格 东"], [None, 1.5]])
    text = to_csv(table).decode("utf-8")
    assert text.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(text.lstrip("\ufeff")))) == [
        ["a", "b"],
        ['\'=HYPERLINK("x")', "网格 东"],
        ["", "1.5"],
    ]
    sheet = load_workbook(io.BytesIO(to_xlsx(table))).active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["a", "b"],
        ['\'=HYPERLINK("x")', "网格 东"],
        [None, 1.5],
    ]


def test_xlsx_shows_control_characters_instead_of_failing_the_export() -> None:
    """A note typed with a control character (schemathesis found one) once made the whole XLSX export a 500."""
    table = Table("t", ["note"], [["车辆\x01占道\x1b"], ["=\x00"]])
    sheet = load_workbook(io.BytesIO(to_xlsx(table))).active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [["note"], ["车辆\ufffd占道\ufffd"], ["'=\ufffd"]]
    assert "\x01" in to_csv(table).decode("utf-8")  # CSV carries them as they are


def test_case_and_kpi_exports(api: Api) -> None:
    east, west = api.dispatch(api.open_case("cam-1", "exp-e")), api.dispatch(api.open_case("cam-2", "exp-w"))
    response = api.client.get("/api/v1/exports/cases.csv", headers=api.as_("operator"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    ids = {int(r["id"]) for r in rows}
    assert {east, west} <= ids and rows[0]["event_name"]
    scoped = api.client.get("/api/v1/exports/cases.xlsx", headers=api.as_("handler_east"))
    sheet = load_workbook(io.BytesIO(scoped.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "id" and east in {r[0] for r in values[1:]} and west not in {r[0] for r in values[1:]}
    kpis = api.client.get("/api/v1/exports/kpis.csv?by=grid", headers=api.as_("viewer"))
    assert kpis.status_code == 200 and kpis.content.decode("utf-8-sig").startswith("group,due,")
    assert api.client.get("/api/v1/exports/kpis.xlsx", headers=api.as_("viewer")).status_code == 200
    assert api.client.get("/api/v1/exports/cases.pdf", headers=api.as_("viewer")).status_code == 422
    assert api.client.get("/api/v1/exports/cases.csv").status_code == 401


def test_verdicts_export_as_a_yolo_dataset_with_blurred_images(api: Api) -> None:
    confirmed, sha_c = photo_case(api, "cam-1", (0.1, 0.5, 0.4, 0.9), "c")
    rejected, sha_r = photo_case(api, "cam-2", (0.5, 0.5, 0.9, 0.9), "r")
    api.ctx.manager.record_verdict(confirmed, VerdictKind.CONFIRM, actor="operator")
    api.ctx.manager.record_verdict(rejected, VerdictKind.REJECT, actor="operator")
    assert api.client.get("/api/v1/exports/verdicts.zip", headers=api.as_("viewer")).status_code == 403
    response = api.client.get("/api/v1/exports/verdicts.zip", headers=api.as_("operator"))
    assert response.status_code == 200
    zf = zipfile.ZipFile(io.BytesIO(response.content))
    data_yaml = zf.read("data.yaml").decode()
    assert f"nc: {len(LABEL_NAMES)}" in data_yaml and all(f": {name}" in data_yaml for name in LABEL_NAMES)
    label = zf.read(f"labels/train/{sha_c}.txt").decode().split()
    assert label[0] == str(LABEL_NAMES.index("garbage"))  # the sighting's label, its box as centre and size
    assert [float(v) for v in label[1:]] == [0.25, 0.7, 0.3, 0.4]
    assert zf.read(f"labels/train/{sha_r}.txt") == b""  # rejected: a hard negative
    image = decode_image(zf.read(f"images/train/{sha_c}.jpg"))
    original = decode_image(PHOTO.read_bytes())
    assert image.pixels.shape == original.pixels.shape
    assert np.abs(image.pixels.astype(int) - original.pixels.astype(int)).max() > 60, "heads/plates pixelated"


def test_evidence_is_served_blurred_and_originals_only_to_admins_with_keep_originals(api: Api) -> None:
    _, sha = photo_case(api, "cam-1", (0.2, 0.2, 0.5, 0.5), "ev")
    blurred = api.client.get(f"/api/v1/evidence/{sha}", headers=api.as_("operator"))
    assert blurred.status_code == 200 and blurred.headers["content-type"] == "image/jpeg"
    assert blurred.content != PHOTO.read_bytes() + b"ev"
    assert api.client.get(f"/api/v1/evidence/{sha}", headers=api.as_("handler_west")).status_code == 404
    for who in ("operator", "admin"):  # keep_originals is off in the test settings
        assert api.client.get(f"/api/v1/evidence/{sha}?original=true", headers=api.as_(who)).status_code == 403
    assert api.client.get(f"/api/v1/evidence/{'0' * 64}", headers=api.as_("admin")).status_code == 404
    assert api.client.get("/api/v1/evidence/..%2Fetc", headers=api.as_("admin")).status_code in (404, 422)


def test_phone_numbers_aggregate_across_cases(api: Api) -> None:
    first = api.ctx.manager.ingest(*sighting(Violation.FLYPOSTING, camera_id="cam-1", at=T0), [], "m1", "sha-p1")
    later = T0 + timedelta(days=2)
    second = api.ctx.manager.ingest(*sighting(Violation.FLYPOSTING, camera_id="cam-2", at=later), [], "m1", "sha-p2")
    shared = Phone("13800138000", "mobile", "办证 138 0013 8000")
    with api.ctx.store.transaction() as s:
        landline = Phone("010-62345678", "landline", "010-62345678")
        attach_readings(s, [first], [PosterReading("办证 138 0013 8000\n010-62345678", (shared, landline))], T0)
        attach_readings(s, [second], [PosterReading(shared.text, (shared,))], later)
        attach_readings(s, [second], [PosterReading(shared.text, (shared,))], later)  # the same photo again: once
    for result in (first, second):
        api.dispatch(result.case.id)  # a unit handler counts only the cases dispatched to its unit
    report = api.client.get("/api/v1/reports/phones", headers=api.as_("viewer")).json()
    top = report[0]
    assert top["number"] == "13800138000" and top["cases"] == sorted([first.case.id, second.case.id])
    assert top["grids"] == ["g-east", "g-west"] and top["sightings"] == 2
    assert top["first_seen"] < top["last_seen"]
    east = api.client.get("/api/v1/reports/phones", headers=api.as_("handler_east")).json()
    assert {p["number"]: p["cases"] for p in east}["13800138000"] == [first.case.id]
    assert [
        p["number"] for p in api.client.get("/api/v1/reports/phones?min_cases=2", headers=api.as_("viewer")).json()
    ] == ["13800138000"]
