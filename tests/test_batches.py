"""Photo batches: safe unpacking of hostile zips, the upload API end to end on real photos (progress, per-file
errors, cases opened once, re-upload changes nothing) and a kill -9 in the middle of a batch, on SQLite and
PostgreSQL."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from domain.errors import UploadError
from service.app import create_app
from service.auth.users import create_user
from service.batches import store as batches
from service.batches.ingest import BatchFolder, Limits, batch_dir, new_batch_id
from service.batches.store import NewItem
from service.batches.worker import BatchWorker
from service.context import Context, open_context
from service.core.config import Settings
from service.core.site import SiteConfig, Zone, dump_site
from service.store.evidence import sha256_hex
from service.store.models import Case, ItemState, Observation, PhotoBatch, PhotoBatchItem, Role
from tests.conftest import ROOT, SAMPLES
from tests.db_fixtures import BACKENDS, SITE, throwaway_pg_database
from tests.hostile_inputs import build_zip, png_1x1
from vision.detector import Detector

pytest_plugins = ["tests.db_fixtures"]

PHOTOS = sorted(SAMPLES.glob("*.jpg"))
PLACE = "p-market"
WHOLE = Zone(id="whole-photo", kind="no_parking", polygon=[(0, 0), (1, 0), (1, 1), (0, 1)])
# The test site's patrol place with a no-parking zone over the whole photo: parked vehicles there are violations.
BATCH_SITE: SiteConfig = SITE.model_copy(
    update={"places": [p.model_copy(update={"zones": [WHOLE]}) for p in SITE.places]}
)
PASSWORD = "s3cret-passw0rd"


# ---- unpacking ------------------------------------------------------------------------------------------


def test_hostile_zip_entries_are_refused_one_by_one_and_nothing_lands_outside(tmp_path: Path) -> None:
    photo = PHOTOS[0].read_bytes()
    bomb = b"\0" * (8 * 1024 * 1024)  # deflates ~1000x
    archive = tmp_path / "upload.zip"
    archive.write_bytes(
        build_zip(
            [
                ("ok/街道 照片 ①.jpg", photo),
                ("../evil.jpg", photo),
                ("/abs/evil.jpg", photo),
                ("C:/evil.jpg", photo),
                ("bomb.jpg", bomb),
                ("inner.zip", build_zip([("x.jpg", photo)])),
                ("notes.txt", b"hello"),
                ("ok/tiny.png", png_1x1()),
            ],
            symlinks=("link.jpg",),
        )
    )
    folder = BatchFolder(tmp_path / "batch", Limits(max_file_bytes=4 * 1024 * 1024))
    folder.add_upload("upload.zip", archive)
    accepted = {i.name for i in folder.items}
    assert accepted == {"upload.zip/ok/街道 照片 ①.jpg", "upload.zip/ok/tiny.png"}
    reasons = {r.name.removeprefix("upload.zip/"): r.error for r in folder.rejected}
    assert "escapes" in reasons["../evil.jpg"]
    assert "absolute" in reasons["/abs/evil.jpg"] and "absolute" in reasons["C:/evil.jpg"]
    assert "symbolic link" in reasons["link.jpg"]
    assert "zip bomb" in reasons["bomb.jpg"] or "over the limit" in reasons["bomb.jpg"]
    assert "nested" in reasons["inner.zip"] and "not an image" in reasons["notes.txt"]
    # Only <seq>.<ext> files under the batch folder; the upload itself is gone; nothing written beside it.
    assert sorted(p.name for p in (tmp_path / "batch").iterdir()) == ["000001.png", "000002.jpg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch"]
    assert folder.items[1].sha256 == sha256_hex(photo)


def test_an_entry_that_inflates_past_its_declared_size_is_refused(tmp_path: Path) -> None:
    data = build_zip([("a.jpg", b"\xff" * 5000)])
    # Shrink the declared sizes in both headers: the archive now lies about how much the entry inflates to.
    info = zipfile.ZipFile(io.BytesIO(data)).infolist()[0]
    patched = bytearray(data)
    for offset in (22, data.rfind(b"PK\x01\x02") + 24):
        patched[offset : offset + 4] = (100).to_bytes(4, "little")
    assert info.file_size == 5000
    archive = tmp_path / "liar.zip"
    archive.write_bytes(bytes(patched))
    folder = BatchFolder(tmp_path / "batch", Limits())
    folder.add_upload("liar.zip", archive)
    assert folder.items == [] and len(folder.rejected) == 1
    assert list((tmp_path / "batch").iterdir()) == []


def test_budgets_refuse_the_whole_request(tmp_path: Path) -> None:
    archive = tmp_path / "many.zip"
    archive.write_bytes(build_zip([(f"{i}.jpg", PHOTOS[0].read_bytes()) for i in range(3)]))
    folder = BatchFolder(tmp_path / "batch", Limits(max_files=2))
    with pytest.raises(UploadError) as exc:
        folder.add_upload("many.zip", archive)
    assert exc.value.status == 413
    assert batch_dir(tmp_path, "0" * 32) == tmp_path / "batches" / ("0" * 32)
    with pytest.raises(ValueError, match="batch id"):
        batch_dir(tmp_path, "../x")


# ---- the API --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, detector: Detector
) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp(f"batches-{request.param}")
    site = tmp / "site.yaml"
    dump_site(BATCH_SITE, site)

    def start(url: str) -> Iterator[TestClient]:
        settings = Settings(data_dir=tmp / "data", database_url=url, site=site, model=detector.path)
        with TestClient(create_app(settings, detector=detector)) as test_client:
            ctx: Context = test_client.app.state.ctx  # type: ignore[attr-defined]
            with ctx.store.transaction() as s:
                create_user(s, "operator", Role.OPERATOR, PASSWORD, [])
                create_user(s, "viewer", Role.VIEWER, PASSWORD, [])
            yield test_client

    if request.param == "sqlite":
        yield from start(f"sqlite:///{tmp / 'gridwatch.db'}")
    else:
        with throwaway_pg_database() as url:
            yield from start(url)


def login(client: TestClient, name: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.cookies.clear()  # the bearer header alone says who is asking
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def wait_done(client: TestClient, headers: dict[str, str], batch_id: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/batches/{batch_id}", headers=headers).json()
        if body["state"] == "done":
            return dict(body)
        time.sleep(0.3)
    raise AssertionError(f"batch {batch_id} not done in {timeout} s: {body}")


def test_upload_processes_real_photos_reports_errors_and_reupload_changes_nothing(client: TestClient) -> None:
    headers = login(client, "operator")
    good = PHOTOS[:4]
    entries = [(p.name, p.read_bytes()) for p in good]
    entries += [
        ("corrupt.jpg", PHOTOS[4].read_bytes()[:3000]),
        ("text.jpg", b"not a photo at all"),
        ("dot.png", png_1x1()),
    ]
    data = build_zip(entries)
    files = [
        ("files", ("patrol 巡查.zip", data, "application/zip")),
        ("files", ("loose.jpg", PHOTOS[5].read_bytes(), "image/jpeg")),
    ]
    response = client.post("/api/v1/batches", headers=headers, data={"place": PLACE}, files=files)
    assert response.status_code == 202, response.text
    assert response.json()["total"] == 8 and response.json()["place_id"] == PLACE
    done = wait_done(client, headers, response.json()["id"])
    assert done["processed"] == 8 and done["failed"] == 2
    errors = {e["name"].split("/")[-1]: e["error"] for e in done["errors"]}
    assert set(errors) == {"corrupt.jpg", "text.jpg"}
    assert "truncated" in errors["corrupt.jpg"] and "not an image" in errors["text.jpg"]
    cases = done["cases"]
    assert isinstance(cases, dict) and cases["opened"], "parked cars in a no-parking zone open cases"
    assert done["opened"] == len(cases["opened"])
    items = client.get(f"/api/v1/batches/{done['id']}/items", headers=headers).json()
    assert [i["seq"] for i in items["items"]] == list(range(1, 9))
    dot = next(i for i in items["items"] if i["name"].endswith("dot.png"))
    assert dot["state"] == "done" and dot["detections"] == 0

    # The same photos again: every sighting is a duplicate, no case is opened or updated.
    again = client.post("/api/v1/batches", headers=headers, data={"place": PLACE}, files=files)
    repeat = wait_done(client, headers, again.json()["id"])
    assert repeat["opened"] == repeat["updated"] == repeat["recurred"] == 0
    assert repeat["duplicate"] == done["opened"] + done["updated"] + done["recurred"] + done["duplicate"]
    listed = client.get("/api/v1/batches", headers=headers).json()
    assert {b["id"] for b in listed["items"]} >= {done["id"], repeat["id"]}


def test_upload_refusals_are_clear_4xx_and_leave_no_folder(client: TestClient) -> None:
    headers = login(client, "operator")
    ctx: Context = client.app.state.ctx  # type: ignore[attr-defined]
    before = set((ctx.settings.data_dir / "batches").glob("*"))
    photo = [("files", ("a.jpg", PHOTOS[0].read_bytes(), "image/jpeg"))]
    assert client.post("/api/v1/batches", data={"place": PLACE}, files=photo).status_code == 401
    assert client.post("/api/v1/batches", headers=login(client, "viewer"), files=photo).status_code == 403
    assert client.post("/api/v1/batches", headers=headers, data={"place": "nowhere"}, files=photo).status_code == 422
    assert (
        client.post("/api/v1/batches", headers=headers, data={"lat": "x", "lon": "1"}, files=photo).status_code == 422
    )
    assert client.post("/api/v1/batches", headers=headers, json={"files": []}).status_code == 415
    no_files = [("place", (None, PLACE))]  # multipart with a field and no file
    assert client.post("/api/v1/batches", headers=headers, files=no_files).status_code == 422
    limits = client.app.state.batch_limits  # type: ignore[attr-defined]
    client.app.state.batch_limits = Limits(max_request_bytes=10_000)  # type: ignore[attr-defined]
    try:
        assert client.post("/api/v1/batches", headers=headers, files=photo).status_code == 413
    finally:
        client.app.state.batch_limits = limits  # type: ignore[attr-defined]
    assert set((ctx.settings.data_dir / "batches").glob("*")) == before
    assert client.get("/api/v1/batches/" + "f" * 32, headers=headers).status_code == 404


# ---- crash and resume -----------------------------------------------------------------------------------

CRASHING_WORKER = """
import sys, time
from pathlib import Path
from typing import Any
from service.batches import store
from service.batches.worker import BatchWorker
from service.context import open_context
from service.core.config import Settings

data_dir, url, site = sys.argv[1:4]
finish = store.finish_item

def slow_finish(*args, **kwargs):
    finish(*args, **kwargs)
    time.sleep(0.3)  # inside the transaction: a kill lands mid-photo as often as between photos

store.finish_item = slow_finish
with open_context(Settings(data_dir=Path(data_dir), database_url=url, site=Path(site))) as ctx:
    BatchWorker(ctx, workers=1).run_once()
"""


def photo_variants(n: int) -> list[bytes]:
    """``n`` distinct files (distinct sha256) of real photos: bytes after the JPEG end marker change nothing."""
    return [PHOTOS[i % len(PHOTOS)].read_bytes() + f"variant {i}".encode() for i in range(n)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_mid_batch_then_restart_processes_every_photo_once(
    backend: str, tmp_path: Path, detector: Detector
) -> None:
    site = tmp_path / "site.yaml"
    dump_site(BATCH_SITE, site)
    sqlite = nullcontext(f"sqlite:///{tmp_path / 'gridwatch.db'}")
    with throwaway_pg_database() if backend == "postgresql" else sqlite as url:
        settings = Settings(data_dir=tmp_path / "data", database_url=url, site=site, model=detector.path)
        batch_id = new_batch_id()
        folder = batch_dir(settings.data_dir, batch_id)
        folder.mkdir(parents=True)
        items = []
        for seq, data in enumerate(photo_variants(14), start=1):
            (folder / f"{seq:06d}.jpg").write_bytes(data)
            items.append(NewItem(f"p{seq}.jpg", f"{seq:06d}.jpg", len(data), sha256_hex(data)))
        with open_context(settings, detector=detector) as ctx:
            with ctx.store.transaction() as s:
                batches.create_batch(s, batch_id, items, [], actor="test", now=ctx.manager.clock(), place_id=PLACE)

            proc = subprocess.Popen(
                [sys.executable, "-c", CRASHING_WORKER, str(settings.data_dir), url, str(site)],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            deadline = time.monotonic() + 240
            while _processed(ctx, batch_id) < 3 and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            before = _processed(ctx, batch_id)
            assert 3 <= before < len(items), "killed mid-way"

            BatchWorker(ctx).run_once()  # a restart: takes up the pending photos
            with ctx.store.session() as s:
                batch = s.get_one(PhotoBatch, batch_id)
                rows = list(s.scalars(select(PhotoBatchItem).where(PhotoBatchItem.batch_id == batch_id)))
                observations = s.scalar(select(func.count()).select_from(Observation)) or 0
                cases = list(s.scalars(select(Case)))
            assert batch.state == "done" and batch.processed == batch.total == len(items) and batch.failed == 0
            assert all(r.state == ItemState.DONE for r in rows)
            sightings = sum(len(r.sightings) for r in rows)
            assert sightings == observations > 0, "every sighting ingested exactly once"
            assert batch.opened + batch.updated + batch.recurred + batch.duplicate == sightings
            # One place, one case per violation type: the same violation seen in many photos is one case.
            assert len(cases) == len({c.violation for c in cases}) == batch.opened


def _processed(ctx: Context, batch_id: str) -> int:
    with ctx.store.session() as s:
        return s.get_one(PhotoBatch, batch_id).processed
